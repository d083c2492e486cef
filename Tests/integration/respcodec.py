"""A tiny RESP2/RESP3 encoder/decoder and a blocking socket connection.

Replies decode to typed values (`Reply(kind, value)`) so that the differential
tests can tell a simple string from a bulk string, a RESP2 null bulk from a
null array, a RESP3 double from a bulk, and so on.

Kinds:
    '+' simple string (bytes)      '-' error (bytes)       ':' integer (int)
    '$' bulk string (bytes)        '$nil' RESP2 null bulk  '*nil' RESP2 null array
    '*' array (tuple)              '%' map (tuple of (k, v) pairs)
    '~' set (tuple)                '>' push (tuple)        '_' RESP3 null
    ',' double (raw bytes)         '#' boolean (bool)      '(' big number (raw bytes)
    '=' verbatim ((fmt, data))     '!' blob error (bytes)  '|' attribute (pairs)
    'closed' the peer closed the connection before a full reply arrived
"""

import socket
import time
from typing import NamedTuple, Any


class Reply(NamedTuple):
    kind: str
    value: Any

    def __repr__(self):
        k, v = self.kind, self.value
        if k in ("*", "~", ">"):
            return f"{k}[" + ", ".join(repr(x) for x in v) + "]"
        if k in ("%", "|"):
            return f"{k}{{" + ", ".join(f"{a!r}: {b!r}" for a, b in v) + "}"
        if k in ("$nil", "*nil", "_", "closed"):
            return k if v is None else f"{k}({v!r})"
        return f"{k}{v!r}"


class ConnectionClosed(Exception):
    pass


def encode_command(*args) -> bytes:
    """RESP multibulk encoding of a command (str/bytes/int arguments)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, (int, float)):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class _Buffer:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()
        self.pos = 0

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionClosed()
        if self.pos > (1 << 20):
            del self.buf[: self.pos]
            self.pos = 0
        self.buf += chunk

    def line(self) -> bytes:
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                ln = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return ln
            self._fill()

    def exact(self, n: int) -> bytes:
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        if self.buf[self.pos + n:self.pos + n + 2] != b"\r\n":
            raise ValueError("bulk not terminated by CRLF")
        self.pos += n + 2
        return data

    def pending(self) -> bytes:
        return bytes(self.buf[self.pos:])


def read_reply(b: _Buffer) -> Reply:
    ln = b.line()
    if not ln:
        raise ValueError("empty reply line")
    t, rest = chr(ln[0]), ln[1:]
    if t in "+-":
        return Reply(t, rest)
    if t == ":":
        return Reply(t, int(rest))
    if t == "$":
        n = int(rest)
        if n < 0:
            return Reply("$nil", None)
        return Reply("$", b.exact(n))
    if t in "!=":
        data = b.exact(int(rest))
        if t == "=":
            return Reply("=", (data[:3], data[4:]))
        return Reply("!", data)
    if t in "*~>":
        n = int(rest)
        if n < 0:
            return Reply("*nil", None)
        return Reply(t, tuple(read_reply(b) for _ in range(n)))
    if t in "%|":
        n = int(rest)
        pairs = tuple((read_reply(b), read_reply(b)) for _ in range(n))
        if t == "|":  # attribute: attach to the following reply
            nxt = read_reply(b)
            return Reply("|", (pairs, nxt))
        return Reply("%", pairs)
    if t == "_":
        return Reply("_", None)
    if t == ",":
        return Reply(",", rest)
    if t == "#":
        return Reply("#", rest == b"t")
    if t == "(":
        return Reply("(", rest)
    raise ValueError(f"unknown RESP type byte {ln[:1]!r} in line {ln!r}")


class RespConn:
    """A blocking connection speaking raw RESP."""

    def __init__(self, host: str, port: int, timeout: float = 5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)
        self.reader = _Buffer(self.sock)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data: bytes):
        self.sock.sendall(data)

    def send_command(self, *args):
        self.sock.sendall(encode_command(*args))

    def read(self) -> Reply:
        return read_reply(self.reader)

    def call(self, *args) -> Reply:
        """Send one command, return its typed reply; 'closed' if the peer hung up."""
        try:
            self.send_command(*args)
            return self.read()
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError) as e:
            return Reply("closed", type(e).__name__)
        except socket.timeout:
            return Reply("closed", "timeout")

    def read_until_close(self, timeout: float = 5.0) -> (bytes, bool):
        """Everything the peer sends until it closes. Returns (bytes, closed)."""
        data = bytearray(self.reader.pending())
        self.reader.pos = len(self.reader.buf)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return bytes(data), False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                return bytes(data), False
            except ConnectionResetError:
                return bytes(data), True
            if not chunk:
                return bytes(data), True
            data += chunk

    def read_for(self, seconds: float) -> bytes:
        """Whatever arrives within `seconds` (the connection may stay open)."""
        data, _ = self.read_until_close(seconds)
        return data
