#!/usr/bin/env python3
"""Writes Fixtures/: a golden Godis log directory (format v1) and damaged variants of it.

Independent of the Swift code on purpose: the CRC32C and the byte layout below are written from docs/FORMAT.md
alone, and Tests/StorageTests/FixtureTests.swift rebuilds the same bytes with the Storage module's encoders (and
with a real Engine writing through AppendLog), so a format change on either side is caught.

Usage: python3 Tools/make-fixtures.py            (rewrites Fixtures/*/appendonlydir)
Deterministic: fixed timestamps, no randomness. Run it only when the format changes on purpose, and commit the
result together with the change.
"""
import os
import shutil

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures")
PREFIX = "appendonly.aof"
BASE = PREFIX + ".1.base.aof"
INCR = PREFIX + ".1.incr.aof"
MANIFEST = PREFIX + ".manifest"

CREATED = 1764079273619


def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


TABLE = _table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def command(*args) -> bytes:
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else a.encode()
        out += b"$%d\r\n" % len(a) + a + b"\r\n"
    return out


def header(kind: str, number: int, created: int, version: int = 1) -> bytes:
    line = b"#GODIS-AOF %d %s %d %d " % (version, kind.encode(), number, created)
    return line + b"%08x\r\n" % crc32c(line)


def batch(first_seq: int, db: int, ts: int, commands) -> bytes:
    payload = b"".join(commands)
    line = b"#B %d %d %d %d %d " % (first_seq, len(commands), len(payload), db, ts)
    return line + b"%08x\r\n" % crc32c(line + payload) + payload


def manifest(entries) -> bytes:
    body = "".join(e + "\n" for e in entries).encode()
    return b"#GODIS-MANIFEST 1 %08x\n" % crc32c(body) + body


# The golden log: what the engine logs for these client commands, one batch per event-loop tick.
#   tick 1 (db 0): SET greeting hello; SET counter 10
#   tick 2 (db 0): INCR counter; APPEND greeting " world"; SELECT 1; SET k1 v1
#   tick 3 (db 1): PEXPIREAT k1 4102444800000; SET bin <00 ff 0d 0a 23 42 20>; DEL nosuchkey (changes nothing: not logged)
#   tick 4 (db 1): SELECT 0; DEL greeting; SET counter 99
BATCHES = [
    batch(1, 0, 1764079273700, [command("SET", "greeting", "hello"), command("SET", "counter", "10")]),
    batch(3, 0, 1764079273800, [command("INCR", "counter"), command("APPEND", "greeting", " world"),
                                command("SELECT", "1"), command("SET", "k1", "v1")]),
    batch(7, 1, 1764079273900, [command("PEXPIREAT", "k1", "4102444800000"),
                                command("SET", "bin", b"\x00\xff\r\n#B ")]),
    batch(9, 1, 1764079274000, [command("SELECT", "0"), command("DEL", "greeting"), command("SET", "counter", "99")]),
]
BASE_BYTES = header("b", 1, CREATED)
INCR_BYTES = header("i", 1, CREATED) + b"".join(BATCHES)
MANIFEST_BYTES = manifest([
    "file %s seq 1 type b startseq 1 endseq 0 size %d" % (BASE, len(BASE_BYTES)),
    "file %s seq 1 type i startseq 1" % INCR,
])


def write(name, files):
    d = os.path.join(ROOT, name, "appendonlydir")
    if os.path.isdir(os.path.join(ROOT, name)):
        shutil.rmtree(os.path.join(ROOT, name))
    os.makedirs(d)
    for fname, data in files.items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)


def variants():
    golden = {MANIFEST: MANIFEST_BYTES, BASE: BASE_BYTES, INCR: INCR_BYTES}
    out = {"golden-v1": golden}
    # torn-tail: a fifth batch whose write was cut 5 bytes before its end.
    fifth = batch(12, 0, 1764079274100, [command("SET", "torn", "yes")])
    out["torn-tail"] = dict(golden, **{INCR: INCR_BYTES + fifth[:-5]})
    # zero-tail: the file system extended the file by 512 bytes and lost their data.
    out["zero-tail"] = dict(golden, **{INCR: INCR_BYTES + bytes(512)})
    # bitflip-mid: bit 0 of the "w" of " world" (batch 2's payload) flipped; batches 3 and 4 follow.
    flipped = bytearray(INCR_BYTES)
    at = INCR_BYTES.index(b" world") + 1
    flipped[at] ^= 0x01
    out["bitflip-mid"] = dict(golden, **{INCR: bytes(flipped)})
    # missing-segment: the manifest lists the incr segment, which is not there.
    out["missing-segment"] = {MANIFEST: MANIFEST_BYTES, BASE: BASE_BYTES}
    # future-version: the incr segment's header says major version 2 (with a valid checksum).
    out["future-version"] = dict(golden, **{INCR: header("i", 1, CREATED, version=2) + b"".join(BATCHES)})
    return out


if __name__ == "__main__":
    for name, files in variants().items():
        write(name, files)
    g = INCR_BYTES
    starts = []
    pos = len(header("i", 1, CREATED))
    for b in BATCHES:
        starts.append(pos)
        pos += len(b)
    print("incr segment: %d bytes, batches at %s" % (len(g), starts))
    print("bitflip-mid: byte %d flipped; batch 2 stored %s, computed %08x" % (
        INCR_BYTES.index(b" world") + 1, BATCHES[1][BATCHES[1].index(b"\r\n") - 8:BATCHES[1].index(b"\r\n")].decode(),
        crc32c(bytes(variants()["bitflip-mid"][INCR][starts[1]:starts[1] + BATCHES[1].index(b"\r\n") - 8]) +
               bytes(variants()["bitflip-mid"][INCR][starts[1] + BATCHES[1].index(b"\r\n") + 2:starts[2]]))))
    print("torn-tail: %d bytes cut at %d" % (len(batch(12, 0, 1764079274100, [command("SET", "torn", "yes")])) - 5, len(g)))
