"""Differential tests: the same command sequences go to real Redis 7.0 and to Godis
over raw sockets; the typed replies (see respcodec.Reply) must be equal.

Each case runs on fresh connections after FLUSHALL. A step is:
    "SET k v"            a command, split on whitespace, reply compared exactly
    ("ECHO", "a b")      a command with literal arguments, compared exactly
    Sorted(...)          array reply compared after sorting (KEYS)
    Near(tol, ...)       integer replies: equal if <= 0, else both > 0 and within tol (TTL, PTTL, ...)
    Shape(...)           only the reply types/lengths are compared (TIME, CLIENT ID, INFO)
    Masked(keys, ...)    map/pair-array reply; the values of `keys` are compared by shape only (HELLO)
    Sleep(seconds)       wait (both servers see the same delay)
"""

import time

import pytest

from respcodec import Reply

FAR = 4102444800  # 2100-01-01T00:00:00Z, an absolute time that never passes during the tests
FARMS = FAR * 1000 + 123
MAX = "9223372036854775807"
MIN = "-9223372036854775808"


class Step:
    def __init__(self, *spec):
        # one string with spaces is split into words; anything else is taken literally
        if len(spec) == 1 and isinstance(spec[0], str) and " " in spec[0]:
            self.args = tuple(spec[0].split())
        else:
            self.args = tuple(spec)

    def same(self, a: Reply, b: Reply) -> bool:
        return a == b

    def __repr__(self):
        return " ".join(x if isinstance(x, str) and x.isprintable() and x and " " not in x else repr(x)
                        for x in self.args)


class Exact(Step):
    pass


class Sorted(Step):
    def same(self, a, b):
        if a.kind in ("*", "~") and b.kind == a.kind:
            return sorted(a.value) == sorted(b.value)
        return a == b


class Near(Step):
    def __init__(self, tol, *spec):
        super().__init__(*spec)
        self.tol = tol

    def same(self, a, b):
        if a.kind == b.kind == ":" and a.value > 0 and b.value > 0:
            return abs(a.value - b.value) <= self.tol
        return a == b


def shape(r: Reply):
    if r.kind in ("*", "~", ">"):
        return (r.kind, tuple(shape(x) for x in r.value))
    if r.kind in ("%",):
        return (r.kind, tuple((shape(k), shape(v)) for k, v in r.value))
    return r.kind


class Shape(Step):
    def same(self, a, b):
        return shape(a) == shape(b)


class Masked(Step):
    def __init__(self, keys, *spec):
        super().__init__(*spec)
        self.keys = {k.encode() for k in keys}

    def _mask(self, r):
        if r.kind == "%":
            return Reply("%", tuple((k, shape(v) if k.value in self.keys else v) for k, v in r.value))
        if r.kind == "*" and len(r.value) % 2 == 0:
            v = list(r.value)
            for i in range(0, len(v), 2):
                if v[i].value in self.keys:
                    v[i + 1] = shape(v[i + 1])
            return Reply("*", tuple(v))
        return r

    def same(self, a, b):
        return self._mask(a) == self._mask(b)


class Sleep:
    def __init__(self, seconds):
        self.seconds = seconds


def steps(*items):
    return [Exact(i) if isinstance(i, str) else Exact(*i) if isinstance(i, tuple) else i for i in items]


# ---------------------------------------------------------------------------------------------
# The cases

CASES = []


def case(name, *items):
    CASES.append((name, steps(*items)))


case("ping_echo",
     "PING", "PING hello", "PING a b", "ping", "PiNg", ("PING", ""),
     "ECHO hi", "ECHO", "ECHO a b", ("ECHO", ""), ("ECHO", "a b\r\nc"), ("ECHO", b"\x00\xff\x01"))

case("set_get_basic",
     "GET k", "SET k v", "GET k", "SET k v2", "GET k", ("SET", "k", ""), "GET k", "STRLEN k",
     ("SET", "bin", b"\x00\r\n\xff"), "GET bin", "TYPE k", "TYPE missing", "GET", "GET a b", "SET a",
     "SET", "set k lower", "get k")

case("set_expire_options",
     "SET k v EX 100", Near(2, "TTL k"), Near(2000, "PTTL k"),
     "SET k v PX 100000", Near(2, "TTL k"), Near(2000, "PTTL k"),
     f"SET k v EXAT {FAR}", f"EXPIRETIME k", "PEXPIRETIME k",
     f"SET k v PXAT {FARMS}", "EXPIRETIME k", "PEXPIRETIME k",
     "SET k v ex 100", Near(2, "TTL k"), "SET k v", "TTL k",
     "SET k v EX 10 EX 20", Near(2, "TTL k"),
     "SET k v EXAT 1", "GET k", "EXISTS k",
     "SET k v PXAT 1", "GET k",
     "SET k v PX 50", Sleep(0.15), "GET k", "EXISTS k", "TTL k", "PTTL k")

case("set_nx_xx_keepttl_get",
     "SET k v XX", "GET k", "SET k v NX", "SET k w NX", "GET k", "SET k w XX", "GET k",
     "SET k v EX 100", "SET k v2 KEEPTTL", Near(2, "TTL k"), "GET k", "SET k v3", "TTL k",
     "SET k v4 KEEPTTL", "TTL k",
     "SET n v GET", "SET n v2 GET", "GET n", "SET n v3 NX GET", "GET n", "SET m v NX GET", "GET m",
     "SET x v XX GET", "EXISTS x", "SET n v4 XX GET", "SET n v5 GET GET", "GET n",
     "SET n v6 EX 100 GET", Near(2, "TTL n"), "SET n v7 KEEPTTL GET", Near(2, "TTL n"))

case("set_invalid",
     "SET k orig",
     "SET k v NX XX", "SET k v XX NX", "SET k v EX 10 PX 100", "SET k v PX 100 EX 10",
     "SET k v EX 10 KEEPTTL", "SET k v KEEPTTL EX 10", "SET k v PX 10 EXAT 10", f"SET k v EXAT {FAR} PXAT {FARMS}",
     "SET k v EX", "SET k v PX", "SET k v EXAT", "SET k v PXAT", "SET k v foo", "SET k v NX foo",
     "SET k v EX 0", "SET k v EX -1", "SET k v PX 0", "SET k v PX -1", "SET k v EXAT 0", "SET k v EXAT -1",
     "SET k v PXAT 0", "SET k v PXAT -5",
     "SET k v EX abc", "SET k v EX 1.5", "SET k v EX 10abc", "SET k v PX 1e3", ("SET", "k", "v", "EX", ""),
     ("SET", "k", "v", "EX", " 10"),
     f"SET k v EX {MAX}", f"SET k v PX {MAX}", f"SET k v EXAT {MAX}", f"SET k v PXAT {MAX}",
     "SET k v EX 9223372036854775", "SET k v EX 9223372036854776",
     "SET k v EX 99999999999999999999", f"SET k v EX {MIN}",
     "SET k v PERSIST", "SET k v GET EX", "SET k v KEEPTTL KEEPTTL",
     "GET k", Near(2, "TTL k"))

case("getdel",
     "GETDEL missing", "SET k v", "GETDEL k", "EXISTS k", "GETDEL k", "SET k v EX 100", "GETDEL k", "TTL k",
     "GETDEL", "GETDEL a b")

case("getex",
     "GETEX missing", "GETEX missing EX 10", "SET k v", "GETEX k", "TTL k",
     "GETEX k EX 100", Near(2, "TTL k"), "GETEX k PERSIST", "TTL k",
     "GETEX k PX 100000", Near(2000, "PTTL k"), f"GETEX k EXAT {FAR}", "EXPIRETIME k",
     f"GETEX k PXAT {FARMS}", "PEXPIRETIME k", "GETEX k persist", "TTL k",
     "GETEX k EX 0", "GETEX k EX -1", "GETEX k PX 0", "GETEX k EXAT 0", "GETEX k EX abc", "GETEX k EX 1.5",
     f"GETEX k EX {MAX}", f"GETEX k PX {MAX}",
     "GETEX k EX 10 PERSIST", "GETEX k PERSIST EX 10", "GETEX k EX 10 PX 100", "GETEX k foo", "GETEX k EX",
     "GETEX k KEEPTTL", "GETEX k NX", "GETEX k PERSIST PERSIST", "TTL k",
     "GETEX k EXAT 1", "GET k", "EXISTS k",
     "GETEX")

case("getset",
     "GETSET k v", "GETSET k v2", "GET k", "SET k v EX 100", "GETSET k x", "TTL k", "GETSET k", "GETSET k a b")

case("mget_mset_msetnx",
     "MSET a 1 b 2 c 3", "MGET a b c missing a", "MGET missing", "MGET",
     "MSET a", "MSET a 1 b", "MSET", "MGET a b",
     "SET t v EX 100", "MSET t w", "TTL t", "MSET a x a y", "GET a",
     "MSETNX x 1 y 2", "MGET x y", "MSETNX y 3 z 4", "EXISTS z", "MSETNX x", "MSETNX x 1 z",
     "MSETNX p 1 p 2", "GET p")

case("setnx_setex_psetex",
     "SETNX k v", "SETNX k w", "GET k", "SETNX k", "SETNX",
     "SETEX s 100 v", Near(2, "TTL s"), "GET s", "SETEX s 0 v", "SETEX s -5 v", "SETEX s abc v", "SETEX s 1.5 v",
     f"SETEX s {MAX} v", "SETEX s 9223372036854775 v", "SETEX s 9223372036854776 v", "SETEX s 100", "SETEX s", "GET s",
     "PSETEX p 100000 v", Near(2000, "PTTL p"), "PSETEX p 0 v", "PSETEX p -1 v", "PSETEX p x v",
     f"PSETEX p {MAX} v", "PSETEX q 1 v", Sleep(0.05), "GET q")

case("append_strlen",
     "APPEND k foo", "APPEND k bar", "GET k", ("APPEND", "k", ""), "STRLEN k", "STRLEN missing",
     "SET n 10", "OBJECT ENCODING n", "APPEND n 5", "GET n", "OBJECT ENCODING n", "STRLEN n",
     "SET i 12345", "STRLEN i", "SET neg -1", "STRLEN neg", ("APPEND", "e", ""), "EXISTS e", "STRLEN e",
     "SET t v EX 100", "APPEND t w", Near(2, "TTL t"), "APPEND", "APPEND k", "STRLEN")

_IDX = ["-100", "-12", "-11", "-10", "-6", "-2", "-1", "0", "1", "5", "9", "10", "11", "12", "100", MAX, MIN]
case("getrange_grid",
     "SET s Hello_World",
     *[("GETRANGE", "s", a, b) for a in _IDX for b in _IDX])

case("getrange_misc",
     "GETRANGE missing 0 -1", "GETRANGE missing 0 0", "GETRANGE missing -1 -5",
     ("SET", "e", ""), "GETRANGE e 0 -1", "GETRANGE e 0 0", "GETRANGE e -1 -1", "GETRANGE e 1 1",
     "SET i 12345", "GETRANGE i 1 3", "GETRANGE i -2 -1", "GETRANGE i 0 100",
     "SET s abc", "GETRANGE s a 1", "GETRANGE s 0 b", "GETRANGE s 0 1.5", "GETRANGE s 0 99999999999999999999",
     "GETRANGE s 0", "GETRANGE s", "SUBSTR s 0 1", "SUBSTR s -2 -1")

case("setrange",
     "SETRANGE k 5 hi", "GET k", "STRLEN k", "SETRANGE k 0 HE", "GET k", "SETRANGE k 6 there", "GET k",
     "SETRANGE k -1 x", "SETRANGE k abc x", "SETRANGE k 1.5 x",
     ("SETRANGE", "k", "0", ""), ("SETRANGE", "k", "100", ""), "GET k",
     ("SETRANGE", "m", "0", ""), "EXISTS m", ("SETRANGE", "m", "10", ""), "EXISTS m",
     ("SETRANGE", "m", "-1", ""), ("SETRANGE", "k", "-1", ""),
     "SETRANGE k 536870912 x", "SETRANGE m 536870912 x", "SETRANGE k 536870911 xy",
     ("SETRANGE", "k", "536870912", ""), ("SETRANGE", "m", "536870912", ""), "EXISTS m",
     "SET n 12345", "SETRANGE n 1 x", "GET n", "OBJECT ENCODING n",
     "SET t v EX 100", "SETRANGE t 1 w", Near(2, "TTL t"), "GET t",
     "SETRANGE k 0", "SETRANGE")

# Huge/extreme numeric arguments, one tiny case each so that a crash in one does not hide the others.
_EDGE_NUMBERS = [
    f"SETRANGE k {MAX} x", f"SETRANGE k {MAX} ''", f"SETRANGE missing {MAX} x", "SETRANGE k 9223372036854775806 xy",
    "SETRANGE k 4611686018427387904 x", f"GETRANGE k {MIN} {MAX}", f"GETRANGE k {MAX} {MIN}",
    f"SUBSTR k -9223372036854775807 -9223372036854775807",
    f"SELECT {MAX}", f"SELECT {MIN}", f"MOVE k {MAX}", f"MOVE k {MIN}", f"COPY k k2 DB {MAX}", f"COPY k k2 DB {MIN}",
    f"SWAPDB {MAX} 0", f"SWAPDB 0 {MIN}", f"SETEX k {MIN} v", f"PSETEX k {MIN} v", f"PSETEX k {MAX} v",
    f"SET k v PX {MIN}", f"SET k v EXAT {MIN}", f"SET k v PXAT {MIN}", f"GETEX k PX {MIN}", f"GETEX k EXAT {MAX}",
    f"GETEX k PXAT {MAX}", f"EXPIRE k {MIN}", f"PEXPIREAT k {MIN}", f"EXPIREAT k {MAX} GT", f"PEXPIRE k {MAX} LT",
    f"EXPIRE k 9223372036854775 LT", f"INCRBY k2 {MIN}", f"DECRBY k2 {MAX}", f"INCRBYFLOAT k3 {MAX}",
    f"INCRBYFLOAT k3 1e308", f"INCRBYFLOAT k3 -1e308", f"INCRBYFLOAT k3 4.9e-324", f"INCRBYFLOAT k3 1e-400",
]
for _i, _cmd in enumerate(_EDGE_NUMBERS):
    case(f"edge_number_{_i:02d}_{_cmd.split()[0].lower()}",
         "SET k abc", _cmd, "GET k", Near(2, "TTL k"), "EXISTS k2", "GET k3", "DBSIZE")

case("incr_decr",
     "INCR n", "INCR n", "INCRBY n 10", "DECR n", "DECRBY n 5", "INCRBY n -3", "DECRBY n -3", "GET n",
     "OBJECT ENCODING n", "TYPE n",
     "DECR d", "DECRBY d2 7", "INCRBY i3 0",
     "SET t 5 EX 100", "INCR t", Near(2, "TTL t"),
     "INCR", "INCRBY n", "DECRBY n", "INCR n x",
     "INCRBY n abc", "INCRBY n 1.5", ("INCRBY", "n", ""), "INCRBY n 9223372036854775808", "INCRBY n 01",
     ("INCRBY", "n", " 1"), "DECRBY n 1e2", "GET n")

case("incr_bad_values",
     *[x for v in ["abc", " 1", "1 ", "01", "+1", "-0", "", "1.0", "0x10", "12345678901234567890",
                   "-", "1a", "\x001", "00", "-01", " ", "9223372036854775808", "-9223372036854775809"]
       for x in (("SET", "v", v), "INCR v", "DECR v", "INCRBY v 2", "GET v")],
     *[x for v in ["0", "-1", "007"[1:], "123", "-9223372036854775807"]
       for x in (("SET", "v", v), "INCR v", "GET v")])

case("incr_overflow",
     f"SET n {MAX}", "INCR n", "INCRBY n 1", "INCRBY n 0", "DECR n", "GET n",
     f"SET n {MIN}", "DECR n", "DECRBY n 1", "INCRBY n -1", "INCR n", "GET n",
     "SET n 1", f"INCRBY n {MAX}", f"INCRBY n {MIN}", "GET n", f"DECRBY n {MIN}", "SET z 0", f"DECRBY z {MIN}",
     f"DECRBY z {MAX}", "DECR z", "GET z", "SET n -2", f"INCRBY n {MIN}")

case("incrbyfloat",
     "SET f 10.50", "INCRBYFLOAT f 0.1", "GET f", "INCRBYFLOAT f -5", "INCRBYFLOAT f -5.6", "GET f",
     "SET f 5.0e3", "INCRBYFLOAT f 2.0e2", "GET f", "SET f 3.0e3", "INCRBYFLOAT f 0", "INCRBYFLOAT f 3.0e3",
     "INCRBYFLOAT m 1.5", "INCRBYFLOAT m2 5.0e3", "INCRBYFLOAT m3 -0", "INCRBYFLOAT m4 0.0",
     "SET n 10", "INCRBYFLOAT n 1", "OBJECT ENCODING n", "INCRBYFLOAT n 0.1", "INCR n",
     "SET f 1", "INCRBYFLOAT f abc", ("INCRBYFLOAT", "f", ""), ("INCRBYFLOAT", "f", " 1"), ("INCRBYFLOAT", "f", "1 "),
     "INCRBYFLOAT f inf", "INCRBYFLOAT f -inf", "INCRBYFLOAT f nan", "INCRBYFLOAT f 1e5000",
     "INCRBYFLOAT f 0x10", "INCRBYFLOAT f 1e-5", "INCRBYFLOAT f .5", "INCRBYFLOAT f 5.", "INCRBYFLOAT f +1",
     "INCRBYFLOAT f 1,5", "GET f",
     "SET s abc", "INCRBYFLOAT s 1", "SET s 1.5.5", "INCRBYFLOAT s 1", ("SET", "s", " 1.5"), "INCRBYFLOAT s 1",
     "SET s inf", "INCRBYFLOAT s 1",
     "SET big 1.7976931348623157e308", "INCRBYFLOAT big 1e308", "INCRBYFLOAT big -1e308", "GET big",
     "SET h 1e20", "INCRBYFLOAT h 1", "GET h", "SET h 12345678901234567890", "INCRBYFLOAT h 1",
     "INCRBYFLOAT h 0.5", "SET h 0.1", "INCRBYFLOAT h 0.2", "SET h 1e-20", "INCRBYFLOAT h 1e-20",
     "SET h 3", "INCRBYFLOAT h 1e17", "INCRBYFLOAT h 1e300", "SET h -3.5", "INCRBYFLOAT h 3.5",
     "SET t 1 EX 100", "INCRBYFLOAT t 1", Near(2, "TTL t"),
     "INCRBYFLOAT f", "INCRBYFLOAT")

case("del_unlink_exists_type",
     "MSET a 1 b 2 c 3", "EXISTS a a a b missing", "EXISTS missing", "DEL a a b missing", "UNLINK c c",
     "EXISTS a b c", "DEL missing", "UNLINK missing", "DEL", "UNLINK", "EXISTS",
     "SET k v", "TYPE k", "TYPE missing", "TYPE", "TYPE a b")

_KEYS = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo", "h[a]llo", "h\\llo",
         "a", "b", "c", "d", "abc", "ab", "-", "]", "[", "^", "x\\y", "a-b", "A", "B", "h^llo", "hbllo"]
_PATTERNS = ["*", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h[b-a]llo", "[a-c]", "[^a]", "[!a]",
             "h\\*llo", "h\\?llo", "h\\[a\\]llo", "h\\\\llo", "x\\\\y", "x\\y", "[", "[a-", "a[", "*a*", "?", "??",
             "???", "", "h[a-e-z]llo", "[\\]]", "[]]", "\\[", "[-]", "[a\\-c]", "*\\", "a\\", "h[^a-e]llo",
             "[A-C]", "[a-C]", "[]", "[^]", "*[", "h*", "*o", "**", "h[\\^]llo", "[\\^]", "^"]
case("keys_glob",
     ("MSET", *[x for k in _KEYS for x in (k, "1")]),
     *[Sorted("KEYS", p) for p in _PATTERNS],
     "KEYS", "KEYS a b")

case("rename_renamenx",
     "RENAME missing x", "RENAMENX missing x", "SET a 1", "RENAME a b", "GET a", "GET b",
     "RENAME b b", "GET b", "RENAMENX b b", "RENAME missing missing",
     "SET c 3", "RENAMENX b c", "GET b", "RENAMENX b d", "GET d",
     "SET e 5 EX 100", "RENAME e f", Near(2, "TTL f"), "SET g 7", "RENAME g f", "TTL f", "GET f",
     "SET h 8 EX 100", "RENAME d h", "TTL h",
     "RENAME", "RENAME a", "RENAMENX a")

case("copy",
     "SET src v", "COPY src dst", "GET dst", "COPY src dst", "SET src v2", "COPY src dst REPLACE", "GET dst",
     "COPY src src", "COPY src src REPLACE", "COPY missing dst", "COPY missing dst REPLACE",
     "COPY src dst DB 1", "SELECT 1", "GET dst", "SELECT 0", "COPY src dst DB 1", "COPY src dst DB 1 REPLACE",
     "COPY src src DB 1", "COPY src src DB 0", "COPY src dst db 2 replace",
     "COPY src dst DB 16", "COPY src dst DB -1", "COPY src dst DB abc", "COPY src dst DB", "COPY src dst FOO",
     "COPY src dst REPLACE FOO", "COPY src dst DB 1.5",
     "SET t v EX 100", "COPY t t2", Near(2, "TTL t2"), "SET i 123", "COPY i i2", "OBJECT ENCODING i2",
     "COPY", "COPY a")

case("move",
     "SET k v", "MOVE k 1", "EXISTS k", "MOVE k 1", "SELECT 1", "GET k", "SET k other", "SELECT 0",
     "SET k mine", "MOVE k 1", "GET k", "MOVE k 0", "MOVE k 16", "MOVE k -1", "MOVE k abc", "MOVE k 1.5",
     "MOVE missing 1", "MOVE missing 0", "MOVE missing 16",
     "SET t v EX 100", "MOVE t 2", "SELECT 2", Near(2, "TTL t"), "SELECT 0", "MOVE", "MOVE k")

case("expire_basic",
     "SET k v", "EXPIRE k 100", Near(2, "TTL k"), Near(2000, "PTTL k"), "EXPIRE missing 100",
     "PEXPIRE k 100000", Near(2, "TTL k"), f"EXPIREAT k {FAR}", "EXPIRETIME k", "PEXPIRETIME k",
     f"PEXPIREAT k {FARMS}", "EXPIRETIME k", "PEXPIRETIME k", "TTL missing", "PTTL missing",
     "PERSIST k", "TTL k", "PTTL k", "EXPIRETIME k", "PEXPIRETIME k", "EXPIRETIME missing", "PEXPIRETIME missing",
     "PERSIST k", "PERSIST missing",
     "SET d v", "EXPIRE d 0", "EXISTS d", "SET d v", "EXPIRE d -1", "EXISTS d", "SET d v", "PEXPIRE d 0",
     "EXISTS d", "SET d v", "EXPIREAT d 1", "EXISTS d", "SET d v", "PEXPIREAT d 1", "EXISTS d",
     "SET d v", "EXPIREAT d 0", "EXISTS d", "SET d v", f"EXPIREAT d {MIN}", "EXISTS d",
     "SET s v", "PEXPIRE s 50", Sleep(0.15), "GET s", "TTL s", "EXPIRETIME s")

case("expire_options",
     "SET k v", "EXPIRE k 100 XX", "TTL k", "EXPIRE k 100 GT", "TTL k", "EXPIRE k 100 LT", Near(2, "TTL k"),
     "EXPIRE k 100 NX", "EXPIRE k 200 GT", Near(2, "TTL k"), "EXPIRE k 100 GT", "EXPIRE k 50 LT", Near(2, "TTL k"),
     "EXPIRE k 500 LT", "EXPIRE k 60 XX", Near(2, "TTL k"), "PERSIST k", "EXPIRE k 100 nx", Near(2, "TTL k"),
     "EXPIRE k 50 xx gt", "EXPIRE k 300 XX GT", Near(2, "TTL k"), "EXPIRE k 100 LT XX", Near(2, "TTL k"),
     "PEXPIRE k 50000 LT", Near(2000, "PTTL k"), f"EXPIREAT k {FAR} GT", "EXPIRETIME k",
     f"PEXPIREAT k {FARMS} NX", f"PEXPIREAT k {FARMS} XX", "PEXPIRETIME k",
     "EXPIRE k 10 NX XX", "EXPIRE k 10 XX NX", "EXPIRE k 10 GT LT", "EXPIRE k 10 NX GT", "EXPIRE k 10 LT NX",
     "EXPIRE k 10 FOO", "EXPIRE k 10 NX FOO", "EXPIRE k 10 NX NX", "PEXPIRE k 10 GT LT", "EXPIREAT k 10 NX LT",
     "EXPIRE missing 10 NX", "EXPIRE missing 10 FOO", "EXPIRE missing 10 NX XX",
     "EXPIRE k abc", "EXPIRE k 1.5", ("EXPIRE", "k", ""), "EXPIRE k abc FOO",
     "EXPIRE k", "EXPIRE", "PEXPIRE k", "EXPIREAT k", "PEXPIREAT k", "TTL", "PTTL", "PERSIST",
     "EXPIRETIME", "PEXPIRETIME", "TTL a b")

case("expire_edge_times",
     "SET k v", f"EXPIRE k {MAX}", f"PEXPIRE k {MAX}", f"EXPIREAT k {MAX}", f"PEXPIREAT k {MAX}",
     "EXPIRE k 9223372036854775", "EXPIRE k 9223372036854776", "EXPIRE k 99999999999999999999", "EXISTS k",
     Near(2, "TTL k"), f"PEXPIRE k {MIN}", "EXISTS k",
     "SET p v", "EXPIRE p 100 GT", "TTL p", "EXPIRE p 100 LT", Near(2, "TTL p"),
     "SET q v", "EXPIRE q -1 GT", "EXISTS q", "EXPIRE q -1 LT", "EXISTS q",
     "SET r v EX 100", "EXPIRE r -1 GT", "EXISTS r", "EXPIRE r -1 LT", "EXISTS r",
     "SET s v EX 100", "EXPIRE s 0 XX", "EXISTS s", "SET s v", "EXPIRE s 0 NX", "EXISTS s")

case("select_dbsize_flush",
     "SET k v", "DBSIZE", "SELECT 1", "GET k", "DBSIZE", "SET k one", "SET k2 two", "DBSIZE", "SELECT 15",
     "DBSIZE", "SELECT 16", "SELECT -1", "SELECT abc", "SELECT 1.5", ("SELECT", ""), "SELECT 0x1", "SELECT 01",
     "SELECT 0", "GET k", "SELECT 1", "FLUSHDB", "DBSIZE", "SELECT 0", "DBSIZE", "GET k",
     "FLUSHDB SYNC", "SET k v", "FLUSHDB ASYNC", "DBSIZE", "FLUSHDB foo", "FLUSHDB SYNC ASYNC", "flushdb sync",
     "SET a 1", "SELECT 3", "SET b 2", "FLUSHALL", "DBSIZE", "SELECT 0", "DBSIZE",
     "FLUSHALL SYNC", "FLUSHALL ASYNC", "FLUSHALL foo", "FLUSHALL SYNC SYNC",
     "DBSIZE x", "SELECT", "SELECT 1 2")

case("swapdb",
     "SET k zero", "SELECT 1", "SET k one", "SET only1 x", "SELECT 0", "SWAPDB 0 1", "GET k", "GET only1",
     "DBSIZE", "SELECT 1", "GET k", "DBSIZE", "SELECT 0", "SWAPDB 0 0", "GET k", "SWAPDB 1 0", "GET k",
     "SWAPDB 0 16", "SWAPDB 16 0", "SWAPDB -1 0", "SWAPDB a 1", "SWAPDB 0 b", "SWAPDB a b", "SWAPDB 1.5 0",
     "SWAPDB 0", "SWAPDB", "SWAPDB 0 1 2",
     "SET t v EX 100", "SWAPDB 0 5", "SELECT 5", Near(2, "TTL t"))

case("unknown_command_and_arity",
     "FOOBAR", "FOOBAR a b", "foobar a", ("FOOBAR", "x" * 200), ("FOOBAR", "a b", "c"),
     ("FOO\r\nBAR", "x\r\ny"), ("FOOBAR",) + tuple(str(i) for i in range(40)), ("X" * 200,),
     ("",), ("", "a"),
     "GET", "SET a", "GeT", "MGET", "GETRANGE a 1", "INCRBY a", "DEL", "EXPIRE a", "TTL",
     "CONFIG", "CONFIG GET", "CONFIG FOO", "CONFIG foo bar", "OBJECT", "OBJECT FOO", "OBJECT ENCODING",
     "OBJECT ENCODING a b", "CLIENT FOO", "OBJECT foo k")

case("object_encoding",
     "SET a 12345", "OBJECT ENCODING a", "SET a 1", "OBJECT ENCODING a", "SET a -12", "OBJECT ENCODING a",
     f"SET a {MAX}", "OBJECT ENCODING a", f"SET a {MIN}", "OBJECT ENCODING a",
     "SET a 9223372036854775808", "OBJECT ENCODING a", "SET a 012", "OBJECT ENCODING a",
     ("SET", "a", " 1"), "OBJECT ENCODING a", "SET a 1.5", "OBJECT ENCODING a", "SET a -0", "OBJECT ENCODING a",
     "SET b hello", "OBJECT ENCODING b", ("SET", "b", ""), "OBJECT ENCODING b",
     ("SET", "c", "x" * 44), "OBJECT ENCODING c", ("SET", "c", "x" * 45), "OBJECT ENCODING c",
     ("SET", "c", "x" * 1000), "OBJECT ENCODING c",
     "SET d hello", "APPEND d x", "OBJECT ENCODING d", "SET d hello", "SETRANGE d 0 H", "OBJECT ENCODING d",
     "SET e 10", "INCR e", "OBJECT ENCODING e", "SET e x", "SETRANGE e 0 5", "INCR e", "OBJECT ENCODING e",
     "SET f 1.5", "INCRBYFLOAT f 1", "OBJECT ENCODING f", "GETSET g 123", "OBJECT ENCODING g",
     "MSET h 123 i abc", "OBJECT ENCODING h", "OBJECT ENCODING i",
     "OBJECT ENCODING missing", "object encoding a")

case("config_get",
     "CONFIG GET nonexistent-param", "CONFIG GET nonexistent*", "CONFIG GET no-such-a no-such-b",
     Masked(["id", "version"], "HELLO 3"), "CONFIG GET nonexistent-param", "CONFIG GET nonexistent*")

case("resp3_hello",
     Masked(["id", "version"], "HELLO 3"), "GET missing", "SET k v", "GET k", "MGET k missing",
     "SET k v GET", "SET n v NX GET", "SET x v XX", "GETDEL missing", "GETEX missing",
     "INCR i", "INCRBYFLOAT f 1.5", "EXISTS k", "TTL k", "KEYS nomatch", "OBJECT ENCODING missing",
     "OBJECT ENCODING k", "ECHO hi", "PING", "TYPE k", "DBSIZE", "GETRANGE missing 0 1", "FOOBAR",
     "HELLO 4", "HELLO 1", "HELLO 0", "HELLO abc", "HELLO -1", "HELLO 2.5", Masked(["id", "version"], "HELLO"),
     Masked(["id", "version"], "HELLO 3"), Masked(["id", "version"], "HELLO 2"), "GET missing", "MGET missing",
     "HELLO 4", "GET missing", Masked(["id", "version"], "HELLO"), "HELLO 3 FOO", "HELLO 3 SETNAME",
     Masked(["id", "version"], "HELLO 3 SETNAME myname"), "CLIENT GETNAME", "GET missing")

case("resp2_hello",
     Masked(["id", "version"], "HELLO 2"), "GET missing", Masked(["id", "version"], "HELLO"))

case("time_id_info_shapes",
     Shape("TIME"), Shape("CLIENT ID"), Shape("INFO"), Shape("INFO server"), Shape("LASTSAVE"),
     "TIME x", "CLIENT ID x", "CLIENT GETNAME", "CLIENT SETNAME foo", "CLIENT GETNAME",
     ("CLIENT", "SETNAME", "a b"), "CLIENT GETNAME", ("CLIENT", "SETNAME", ""), "CLIENT GETNAME",
     Masked(["id", "version"], "HELLO 3"), Shape("TIME"), Shape("CLIENT ID"), Shape("INFO"), Shape("LASTSAVE"))


# ---------------------------------------------------------------------------------------------
# The runner


def _short(r, limit=300):
    t = repr(r)
    return t if len(t) <= limit else t[:limit] + f"... ({len(t)} chars)"


def _flushall(conn, who):
    r = conn.call("FLUSHALL")
    assert r == Reply("+", b"OK"), f"FLUSHALL on {who} replied {r!r}"


def run_case(items, oracle, godis):
    """Runs the steps on both servers, step by step. Returns a list of mismatch descriptions."""
    mismatches = []
    log = []
    with oracle.connect() as a, godis.connect() as b:
        _flushall(a, "redis")
        _flushall(b, "godis")
        for n, st in enumerate(items):
            if isinstance(st, Sleep):
                time.sleep(st.seconds)
                log.append(f"       (sleep {st.seconds}s)")
                continue
            ra = a.call(*st.args)
            rb = b.call(*st.args)
            ok = st.same(ra, rb)
            log.append(f"  {'   ' if ok else '!!!'} {st!r}\n        redis: {_short(ra)}"
                       + ("" if ok else f"\n        godis: {_short(rb)}"))
            if not ok:
                mismatches.append(f"step {n}: {st!r}\n    redis: {ra!r}\n    godis: {rb!r}")
            if rb.kind == "closed":
                code = godis.wait_exit(5.0) if hasattr(godis, "wait_exit") else None
                why = f"; the godis process exited with status {code}" if code is not None else ""
                mismatches.append(f"godis closed the connection at step {n}{why}; remaining steps skipped")
                if code is not None:
                    mismatches.append("crash summary:\n" + godis.crash_summary())
                break
    return mismatches, log


@pytest.mark.parametrize("items", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_differential(items, redis_oracle, godis):
    mismatches, log = run_case(items, redis_oracle, godis)
    if mismatches:
        pytest.fail(f"{len(mismatches)} mismatching replies:\n" + "\n".join(mismatches)
                    + "\n\nfull transcript:\n" + "\n".join(log), pytrace=False)


def test_oracle_is_redis_7_0(redis_oracle):
    """Guard: the expectations are Redis 7.0's."""
    with redis_oracle.connect() as c:
        info = c.call("INFO", "server").value.decode()
    assert "redis_version:7.0." in info, info[:200]
