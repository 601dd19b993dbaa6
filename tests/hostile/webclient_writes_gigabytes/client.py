"""A web client that writes gigabytes to stdout: the start of a JSON object, then a megabyte at
a time, for ever. Whatever stops it (EFBIG in Python, SIGXFSZ elsewhere, the time limit), both
backends must give the same one-line reason."""

import sys

sys.stdout.write('{"items": [')
chunk = '{"sku": "K0000", "name": "flood", "price": "0.00"}, ' * 20_000
while True:
    sys.stdout.write(chunk)
