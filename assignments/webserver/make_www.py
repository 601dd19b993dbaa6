"""Regenerate the binary and large fixtures in www/ (python make_www.py; stdlib only).

The text fixtures are written by hand; this makes the ones that are easier as code: a tiny PNG,
JPEG and GIF, a binary file with every byte value (and CR/LF pairs a text-mode read would
mangle), and a 5.5 MiB text file whose lines carry a counter (so a dropped or repeated chunk shows)
and which compresses to almost nothing in git. The output is deterministic.

One more is not kept in git: the 16 MiB `huge.txt` of the slow-reader test (large enough to
overflow the kernel's socket buffers), made the same way by `ensure_huge`, which the suite calls
before the test (and which writes it only when it is missing).
"""

import os
import struct
import zlib
from pathlib import Path

WWW = Path(__file__).resolve().parent / "www"
HUGE = "huge.txt"  # listed in .gitignore
HUGE_SIZE = 16 << 20


def png(width: int = 4, height: int = 4) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"".join(bytes((40 * x, 60 * y, 200)) for x in range(width))
                    for y in range(height))  # filter byte 0, then RGB pixels
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def jpeg() -> bytes:
    """A valid baseline JPEG: one 8x8 grey block (DC only), one-code Huffman tables."""
    def segment(marker: int, data: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data

    jfif = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = segment(0xDB, b"\x00" + bytes([1] * 64))
    sof = segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00")
    counts = bytes([1] + [0] * 15)  # one code of length 1
    dht = segment(0xC4, b"\x00" + counts + b"\x00" + b"\x10" + counts + b"\x00")
    sos = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    scan = b"\x3f"  # DC category 0 ("0"), end of block ("0"), padded with ones
    return b"\xff\xd8" + jfif + dqt + sof + dht + sos + scan + b"\xff\xd9"


def gif() -> bytes:
    """A 1x1 GIF89a."""
    return (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\x80\x00\x00\x00\x00"
            b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def blob() -> bytes:
    """Every byte value, CR/LF pairs, NULs and invalid UTF-8: bytes, never text."""
    out = bytearray(bytes(range(256)) * 4)
    out += b"\r\n\r\n\n\r\x00\x00\x1a\xff\xfe\xc3\x28" * 8
    state = 12345
    for _ in range(4096):  # a fixed pseudo-random tail (an LCG: the same bytes every time)
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        out.append(state >> 16 & 0xFF)
    return bytes(out)


def big(size: int = 5_500_000) -> bytes:
    line = " the quick brown fox jumps over the lazy dog; " * 10
    out = bytearray()
    n = 0
    while len(out) < size:
        n += 1
        out += f"line {n:07d}:{line}\n".encode()
    return bytes(out)


def ensure_huge(www: Path = WWW) -> Path:
    """www/huge.txt, written when missing (atomically: several graders may run at once)."""
    path = www / HUGE
    if path.is_file() and path.stat().st_size == HUGE_SIZE:
        return path
    tmp = www / f".{HUGE}.{os.getpid()}.tmp"
    tmp.write_bytes(big(HUGE_SIZE)[:HUGE_SIZE])
    os.replace(tmp, path)
    return path


def main() -> None:
    files = {"images/logo.png": png(), "images/photo.jpg": jpeg(), "images/dot.gif": gif(),
             "data/blob.dat": blob(), "big.txt": big()}
    for name, data in files.items():
        path = WWW / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"{name}: {len(data)} bytes")
    print(f"{HUGE}: {ensure_huge().stat().st_size} bytes (not kept in git)")


if __name__ == "__main__":
    main()
