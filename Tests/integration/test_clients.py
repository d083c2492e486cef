"""Real clients against Godis: redis-py (RESP2 and RESP3) and redis-cli.

Where the output format is the client's business (redis-cli's), the same
invocation runs against the real redis-server and the stdout must be identical.
"""

import os
import shutil
import subprocess

import pytest
import redis

REDIS_CLI = shutil.which("redis-cli")
CLI_TIMEOUT = 10


def client(srv, **kw):
    kw.setdefault("socket_timeout", 10)
    kw.setdefault("socket_connect_timeout", 5)
    return redis.Redis(host=srv.host, port=srv.port, **kw)


def flushall(*servers):
    for s in servers:
        with s.connect() as c:
            r = c.call("FLUSHALL")
            assert r.kind == "+", f"FLUSHALL on {s!r}: {r!r}"


# ---------------------------------------------------------------------------------------------
# redis-py


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
def test_redis_py_basics(godis, redis_oracle, protocol, decode):
    """The same redis-py calls against Redis and Godis give the same Python values."""
    def scenario(r):
        out = []
        out.append(r.set("k", "v"))
        out.append(r.get("k"))
        out.append(r.get("missing"))
        out.append(r.incr("n"))
        out.append(r.incrby("n", 41))
        out.append(r.decr("n"))
        out.append(r.incrbyfloat("f", 10.5))
        out.append(r.incrbyfloat("f", 0.1))
        out.append(r.expire("k", 100))
        out.append(r.ttl("k"))
        out.append(r.pttl("k") > 90000)
        out.append(r.ttl("missing"))
        out.append(r.persist("k"))
        out.append(r.ttl("k"))
        out.append(r.mset({"a": "1", "b": "2", "c": "3"}))
        out.append(r.mget(["a", "b", "missing", "c"]))
        out.append(r.msetnx({"a": "x", "z": "y"}))
        out.append(r.exists("a", "b", "missing"))
        out.append(r.delete("a", "missing"))
        out.append(r.append("b", "23"))
        out.append(r.getrange("b", 0, -2))
        out.append(r.setrange("b", 5, "!"))
        out.append(r.get("b"))
        out.append(r.strlen("b"))
        out.append(r.type("b"))
        out.append(sorted(r.keys("*")))
        out.append(r.set("k", "w", nx=True))
        out.append(r.set("k", "w", xx=True, get=True))
        out.append(r.getex("k", px=50000))
        out.append(r.getdel("k"))
        out.append(r.getset("g", "1"))
        out.append(r.setnx("g", "2"))
        out.append(r.rename("g", "h"))
        out.append(r.copy("h", "i"))
        out.append(r.dbsize())
        out.append(r.echo("hello"))
        out.append(r.ping())
        with pytest.raises(redis.ResponseError) as e:
            r.incr("b")
        out.append(str(e.value))
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command("NOSUCHCOMMAND", "x")
        out.append(str(e.value))
        return out

    flushall(redis_oracle, godis)
    expected = scenario(client(redis_oracle, protocol=protocol, decode_responses=decode))
    got = scenario(client(godis, protocol=protocol, decode_responses=decode))
    assert got == expected
    # A couple of absolute checks, so the test means something even if the oracle drifts.
    v = (lambda s: s) if decode else (lambda s: s.encode())
    assert got[0] is True and got[1] == v("v") and got[2] is None and got[3] == 1 and got[4] == 42


def test_redis_py_pipeline_1000(godis):
    flushall(godis)
    r = client(godis)
    p = r.pipeline(transaction=False)
    for i in range(500):
        p.set(f"key:{i}", f"value:{i}")
        p.get(f"key:{i}")
    res = p.execute()
    assert len(res) == 1000
    for i in range(500):
        assert res[2 * i] is True
        assert res[2 * i + 1] == f"value:{i}".encode()
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.incr("counter")
    assert p.execute() == list(range(1, 1001))
    assert r.dbsize() == 501


def test_redis_py_binary_safe(godis):
    flushall(godis)
    r = client(godis)
    every_byte = bytes(range(256))
    assert r.set(every_byte, every_byte) is True
    assert r.get(every_byte) == every_byte
    assert r.strlen(every_byte) == 256
    assert r.exists(every_byte) == 1
    assert r.keys(b"\x00*") == [every_byte]
    assert r.append(every_byte, b"\r\n\x00") == 259
    assert r.getrange(every_byte, 254, -1) == b"\xfe\xff\r\n\x00"
    for b in (b"\x00", b"\r\n", b"\xff\xfe", b"*1\r\n$4\r\nPING\r\n", b""):
        assert r.set(b"k" + b, b) is True
        assert r.get(b"k" + b) == b


def test_redis_py_one_megabyte_value(godis):
    flushall(godis)
    r = client(godis)
    big = os.urandom(1 << 20)
    assert r.set("big", big) is True
    assert r.strlen("big") == len(big)
    assert r.get("big") == big
    assert r.getrange("big", -10, -1) == big[-10:]
    assert r.append("big", b"tail") == len(big) + 4
    assert r.get("big")[-(1 << 10):] == (big + b"tail")[-(1 << 10):]


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
def test_redis_py_resp3(godis, decode):
    flushall(godis)
    r = client(godis, protocol=3, decode_responses=decode)
    s = (lambda x: x) if decode else (lambda x: x.encode())
    assert r.set("k", "v") is True
    assert r.get("k") == s("v")
    assert r.get("missing") is None
    assert r.mget("k", "missing") == [s("v"), None]
    hello = r.execute_command("HELLO", 3)
    assert isinstance(hello, dict), hello
    assert hello[s("proto")] == 3
    assert hello[s("server")] == s("redis")
    assert isinstance(hello[s("id")], int)
    assert hello[s("mode")] == s("standalone") and hello[s("role")] == s("master")
    assert hello[s("modules")] == []
    assert r.config_get("no-such-parameter") == {}
    assert r.incrbyfloat("f", 1.5) == 1.5
    assert r.ttl("k") == -1


def test_redis_py_hello_handshake_versus_redis(godis, redis_oracle):
    """redis-py's RESP3 handshake metadata has the same keys/types on both servers."""
    def meta(srv):
        r = client(srv, protocol=3, decode_responses=True)
        r.ping()
        conn = r.connection_pool.get_connection()
        try:
            return dict(conn.handshake_metadata)
        finally:
            r.connection_pool.release(conn)

    a, b = meta(redis_oracle), meta(godis)
    assert sorted(a) == sorted(b)
    for key in a:
        assert type(a[key]) is type(b[key]), key
        if key not in ("id", "version"):
            assert a[key] == b[key], key


# ---------------------------------------------------------------------------------------------
# redis-cli


def cli(srv, *args, stdin=None):
    if REDIS_CLI is None:
        pytest.fail("redis-cli not found on PATH")
    p = subprocess.run([REDIS_CLI, "-h", srv.host, "-p", str(srv.port), *args], input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=CLI_TIMEOUT)
    return p.returncode, p.stdout, p.stderr


def same_cli(oracle, godis, *args, stdin=None):
    """Runs redis-cli against both; asserts identical exit status and stdout; returns godis's stdout."""
    ra = cli(oracle, *args, stdin=stdin)
    rb = cli(godis, *args, stdin=stdin)
    assert rb[:2] == ra[:2], (f"redis-cli {' '.join(args)}\n  redis: rc={ra[0]} out={ra[1]!r} err={ra[2]!r}\n"
                              f"  godis: rc={rb[0]} out={rb[1]!r} err={rb[2]!r}")
    return rb[1]


def test_cli_raw_mode(godis, redis_oracle):
    flushall(redis_oracle, godis)
    assert same_cli(redis_oracle, godis, "set", "k", "v") == b"OK\n"
    assert same_cli(redis_oracle, godis, "get", "k") == b"v\n"
    assert same_cli(redis_oracle, godis, "incr", "n") == b"1\n"
    assert same_cli(redis_oracle, godis, "get", "missing") == b"\n"
    assert same_cli(redis_oracle, godis, "dbsize") == b"2\n"
    same_cli(redis_oracle, godis, "mget", "k", "missing", "n")
    same_cli(redis_oracle, godis, "get")  # wrong arity
    same_cli(redis_oracle, godis, "nosuchcommand", "a")
    same_cli(redis_oracle, godis, "set", "k", "v", "EX", "0")
    same_cli(redis_oracle, godis, "-e", "incr", "k")
    same_cli(redis_oracle, godis, "ttl", "k")
    same_cli(redis_oracle, godis, "set", "sp", "a b\nc")
    same_cli(redis_oracle, godis, "get", "sp")
    same_cli(redis_oracle, godis, "incrbyfloat", "f", "10.5")
    same_cli(redis_oracle, godis, "-n", "3", "set", "x", "y")
    same_cli(redis_oracle, godis, "-n", "3", "dbsize")
    same_cli(redis_oracle, godis, "-n", "99", "ping")
    same_cli(redis_oracle, godis, "-r", "3", "incr", "rep")
    same_cli(redis_oracle, godis, "config", "get", "no-such-param")


def test_cli_no_raw_mode(godis, redis_oracle):
    flushall(redis_oracle, godis)
    assert same_cli(redis_oracle, godis, "--no-raw", "set", "k", "v") == b"OK\n"
    assert same_cli(redis_oracle, godis, "--no-raw", "get", "k") == b'"v"\n'
    assert same_cli(redis_oracle, godis, "--no-raw", "get", "missing") == b"(nil)\n"
    assert same_cli(redis_oracle, godis, "--no-raw", "incr", "n") == b"(integer) 1\n"
    same_cli(redis_oracle, godis, "--no-raw", "mget", "k", "missing", "n")
    same_cli(redis_oracle, godis, "--no-raw", "get")
    same_cli(redis_oracle, godis, "--no-raw", "keys", "nomatch")
    same_cli(redis_oracle, godis, "--no-raw", "set", "bin", "a\tb\x01")
    same_cli(redis_oracle, godis, "--no-raw", "get", "bin")
    same_cli(redis_oracle, godis, "--no-raw", "config", "get", "no-such-param")
    same_cli(redis_oracle, godis, "--no-raw", "-3", "get", "missing")
    same_cli(redis_oracle, godis, "--no-raw", "-3", "config", "get", "no-such-param")
    same_cli(redis_oracle, godis, "-3", "mget", "k", "missing")
    same_cli(redis_oracle, godis, "--csv", "mget", "k", "missing", "n")
    same_cli(redis_oracle, godis, "--json", "mget", "k", "missing", "n")


def test_cli_stdin_commands(godis, redis_oracle):
    flushall(redis_oracle, godis)
    script = b"set a 1\nget a\nincr a\nget missing\nmget a missing\nset s \"hello world\"\nget s\ndbsize\n"
    out = same_cli(redis_oracle, godis, stdin=script)
    assert out.startswith(b"OK\n1\n2\n")
    out = same_cli(redis_oracle, godis, "--no-raw", stdin=script.replace(b"set a 1", b"set a 10"))
    assert b"(nil)" in out
    # -x: the last argument comes from stdin
    assert same_cli(redis_oracle, godis, "-x", "set", "fromstdin", stdin=b"payload\x00\xff") == b"OK\n"
    assert same_cli(redis_oracle, godis, "--no-raw", "get", "fromstdin") == b'"payload\\x00\\xff"\n'


def test_cli_pipe_mode(godis, redis_oracle):
    flushall(redis_oracle, godis)
    from respcodec import encode_command
    payload = b"".join(encode_command("SET", f"k{i}", f"v{i}") for i in range(2000))
    payload += encode_command("GET", "k0") + encode_command("INCR", "k1")
    ra = cli(redis_oracle, "--pipe", stdin=payload)
    rb = cli(godis, "--pipe", stdin=payload)
    # one error (INCR of "v1"): exit status 1, the error text on stderr, counts on stdout
    assert ra[0] == 1 and ra[1].endswith(b"errors: 1, replies: 2002\n"), ra
    assert rb == ra, f"\n  redis: {ra!r}\n  godis: {rb!r}"
    assert same_cli(redis_oracle, godis, "dbsize") == b"2000\n"


def test_cli_info_and_dbsize(godis, redis_oracle):
    flushall(godis)
    rc, out, err = cli(godis, "info", "server")
    assert rc == 0, err
    assert b"redis_version:" in out
    assert out.startswith(b"# Server")
    rc, out, err = cli(godis, "info")
    assert rc == 0 and b"redis_version:" in out
    rc, out, err = cli(godis, "dbsize")
    assert (rc, out) == (0, b"0\n")
    cli(godis, "set", "x", "1")
    assert cli(godis, "dbsize")[1] == b"1\n"
    assert cli(godis, "ping")[1] == b"PONG\n"
