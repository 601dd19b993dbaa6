"""Regenerate the binary and large fixtures in www/ (python make_www.py; stdlib only).

The text fixtures are written by hand; this makes the ones that are easier as code: a tiny PNG,
JPEG and GIF, a binary file with every byte value (and CR/LF pairs a text-mode read would
mangle), and a 5.5 MiB text file whose lines carry a counter (so a dropped or repeated chunk shows)
and which compresses to almost nothing in git. The output is deterministic.

Some are not kept in git (see .gitignore), and are made by the suite before the test that needs
them, only when missing (and atomically: several graders may run at once):
- `ensure_huge`: the 16 MiB `huge.txt` of the slow-reader test (large enough to overflow the
  kernel's socket buffers);
- `ensure_odd`: a folder and a file whose names hold '&', '<' and spaces (`<` is not allowed in
  file names on Windows, where a student may check the kit out);
- `ensure_many`: a folder of 1,000 files with long names, whose listing is too large for one
  send() into the sandbox's small socket buffers;
- `ensure_locked`: a file nobody but root may read (git keeps no such permissions).
"""

import os
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

WWW = Path(__file__).resolve().parent / "www"
HUGE = "huge.txt"  # these four are listed in .gitignore
HUGE_SIZE = 16 << 20
ODD_FOLDER = "Q&A <draft>"
ODD_FILE = "fish & chips <menu>.txt"
ODD_TEXT = b"fish & chips <menu>: 2 portions\n"
MANY = "many"
MANY_COUNT = 1000
LOCKED = "locked.txt"
LOCKED_TEXT = b"a file the server may not read\n"


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


def many_names() -> list[str]:
    """The 1,000 file names of www/many/: about 200 characters each, sorted."""
    return [f"{i:04d}-" + "a-rather-long-file-name-" * 8 + f"{i:04d}.txt"
            for i in range(MANY_COUNT)]


def _ensure_folder(path: Path, fill: Callable[[Path], None]) -> Path:
    """PATH, filled by FILL in a scratch folder and renamed into place when missing."""
    if path.is_dir():
        return path
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    fill(tmp)
    try:
        tmp.rename(path)
    except OSError:  # another grader made it first
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def ensure_odd(www: Path = WWW) -> Path:
    """www/Q&A <draft>/fish & chips <menu>.txt, written when missing."""
    return _ensure_folder(www / ODD_FOLDER, lambda d: (d / ODD_FILE).write_bytes(ODD_TEXT))


def ensure_many(www: Path = WWW) -> Path:
    """www/many/ with MANY_COUNT small files, written when missing."""
    def fill(folder: Path) -> None:
        for name in many_names():
            (folder / name).write_bytes(name.encode() + b"\n")

    return _ensure_folder(www / MANY, fill)


def ensure_locked(www: Path = WWW) -> Path:
    """www/locked.txt with no permissions at all (mode 000), written when missing."""
    path = www / LOCKED
    if path.is_file():
        return path
    tmp = www / f".{LOCKED}.{os.getpid()}.tmp"
    tmp.write_bytes(LOCKED_TEXT)
    tmp.chmod(0)
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
    for made in (ensure_odd(), ensure_many(), ensure_locked()):
        print(f"{made.name}: made (not kept in git)")


if __name__ == "__main__":
    main()
