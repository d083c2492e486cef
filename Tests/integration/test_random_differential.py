"""Seeded random command sequences sent to Godis and to a real redis-server, replies compared one by one.

The table-driven cases in test_differential.py check what we thought of; this walks what we did not: 5 seeds ×
1,500 commands each over a small key space (so commands collide on types, TTLs and databases). Replies that depend on
the clock (TTL/PTTL values, EXPIRETIME) are compared by sign only, and GT/LT compare against fixed absolute times.
"""
import random

import pytest

from respcodec import Reply

KEYS = [b"k1", b"k2", b"k3", b"n1", b"n2", b"f1"]
VALUES = [b"", b"0", b"1", b"-7", b"42", b"3.5", b"hello", b"9223372036854775807", b"x" * 50, b"a\r\nb"]
TIMED = {b"TTL", b"PTTL", b"EXPIRETIME", b"PEXPIRETIME"}


def random_command(rng):
    k = rng.choice(KEYS)
    k2 = rng.choice(KEYS)
    v = rng.choice(VALUES)
    n = str(rng.choice([-3, -1, 0, 1, 2, 5, 100])).encode()
    ttl = str(rng.choice([1000, 5000, 86400])).encode()
    choices = [
        [b"SET", k, v], [b"SET", k, v, b"NX"], [b"SET", k, v, b"XX", b"GET"], [b"SET", k, v, b"EX", ttl],
        [b"SET", k, v, b"KEEPTTL"], [b"GET", k], [b"GETDEL", k], [b"GETEX", k, b"PERSIST"], [b"GETSET", k, v],
        [b"MGET", k, k2], [b"MSET", k, v, k2, v], [b"MSETNX", k, v, k2, v], [b"SETNX", k, v], [b"SETEX", k, ttl, v],
        [b"APPEND", k, v], [b"STRLEN", k], [b"GETRANGE", k, n, str(rng.randint(-5, 60)).encode()],
        [b"SETRANGE", k, str(rng.randint(0, 20)).encode(), v], [b"INCR", k], [b"DECR", k], [b"INCRBY", k, n],
        [b"DECRBY", k, n], [b"INCRBYFLOAT", k, rng.choice([b"0.5", b"-1.25", b"3", b"1e3"])],
        [b"DEL", k, k2], [b"UNLINK", k], [b"EXISTS", k, k2, k], [b"TYPE", k], [b"RENAME", k, k2],
        [b"RENAMENX", k, k2], [b"COPY", k, k2], [b"COPY", k, k2, b"REPLACE"], [b"MOVE", k, b"1"],
        [b"EXPIRE", k, ttl], [b"EXPIRE", k, ttl, rng.choice([b"NX", b"XX"])],
        # GT/LT against absolute times far from any relative TTL, so no comparison depends on the clock.
        [b"PEXPIREAT", k, rng.choice([b"4102444800000", b"4102444900000"]), rng.choice([b"GT", b"LT"])], [b"PEXPIRE", k, ttl + b"000"],
        [b"PERSIST", k], [b"TTL", k], [b"PTTL", k], [b"EXPIRETIME", k], [b"OBJECT", b"ENCODING", k],
        [b"SELECT", rng.choice([b"0", b"1"])], [b"DBSIZE"], [b"SWAPDB", b"0", b"1"],
    ]
    return rng.choice(choices)


def normalize(cmd, reply):
    if cmd[0] in TIMED and reply.kind == ":":
        value = int(reply.value)
        return Reply(":", b"positive" if value > 0 else reply.value)
    return reply


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_random_sequences_match_redis(seed, redis_oracle, godis):
    rng = random.Random(seed)
    with redis_oracle.connect() as a, godis.connect() as b:
        for conn in (a, b):
            conn.call("FLUSHALL")
        for i in range(1500):
            cmd = random_command(rng)
            want = normalize(cmd, a.call(*cmd))
            got = normalize(cmd, b.call(*cmd))
            assert got == want, f"seed {seed}, command #{i} {cmd!r}:\n  redis: {want!r}\n  godis: {got!r}"
        for conn in (a, b):
            conn.call("SELECT", "0")
            conn.call("FLUSHALL")
