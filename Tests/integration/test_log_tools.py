"""The log directory against the outside world: a stock redis-server 7 loads what Godis wrote, and the built
godis-aof binary checks and repairs the fixtures in Fixtures/ (see Fixtures/README.md).

Self-contained: servers on 127.0.0.1 and free ports, started as direct children and stopped by PID.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import redis

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GODIS = os.environ.get("GODIS_SERVER", os.path.join(REPO, ".build", "debug", "godis-server"))
GODIS_AOF = os.environ.get("GODIS_AOF", os.path.join(REPO, ".build", "debug", "godis-aof"))
FIXTURES = os.path.join(REPO, "Fixtures")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    def __init__(self, argv, port):
        self.port = port
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{argv[0]} exited: " + self.proc.stderr.read().decode(errors="replace"))
            try:
                if redis.Redis(port=port, socket_timeout=1).ping():
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"{argv[0]} did not answer PING within 20 s")

    def client(self, db=0):
        return redis.Redis(port=self.port, db=db, socket_timeout=5)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode


def godis(directory, *extra):
    port = free_port()
    return Proc([GODIS, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--appendonly", "yes", *extra], port)


def stock_redis(directory):
    port = free_port()
    return Proc(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", directory,
                 "--appendonly", "yes", "--save", "", "--auto-aof-rewrite-percentage", "0"], port)


def dataset(server, dbs=(0, 1, 2)):
    """Every key of the given dbs with its value and whether it has a TTL (values compared exactly)."""
    out = {}
    for db in dbs:
        c = server.client(db)
        for key in c.keys("*"):
            out[(db, key)] = (c.get(key), c.pttl(key) > 0)
    return out


@pytest.mark.skipif(not os.path.exists(GODIS), reason="godis-server not built")
def test_stock_redis_loads_a_godis_directory():
    with tempfile.TemporaryDirectory() as d:
        g = godis(d)
        try:
            c = g.client()
            c.set("plain", "v")
            c.set("binary", bytes(range(256)))
            c.set("crlf", b"a\r\n#B 1 2 3\r\nb")
            c.set("ttl", "x", ex=1000)
            c.incr("counter")
            c.incrbyfloat("float", 10.5)
            c.append("plain", "++")
            c.setrange("plain", 1, "Z")
            c.set("gone", "1")
            c.delete("gone")
            c.getdel("plain2")
            c1 = g.client(1)
            c1.mset({"a": "1", "b": "2"})
            c1.expire("a", 5000)
            c1.rename("b", "c")
            g.client(2).set("two", "2")
            c1.move("c", 2)
            want = dataset(g)
        finally:
            assert g.stop() == 0
        copy = os.path.join(d, "copy")
        shutil.copytree(d, copy, ignore=shutil.ignore_patterns("copy"))
        r = stock_redis(copy)
        try:
            got = dataset(r)
        finally:
            r.stop()
        assert got == want
        assert len(want) == 9  # 6 in db 0, "a" in db 1, "two" and the moved "c" in db 2


@pytest.mark.skipif(not os.path.exists(GODIS_AOF), reason="godis-aof not built")
def test_godis_aof_on_fixtures():
    with tempfile.TemporaryDirectory() as d:
        for name in ["golden-v1", "bitflip-mid", "torn-tail", "zero-tail", "missing-segment", "future-version"]:
            shutil.copytree(os.path.join(FIXTURES, name), os.path.join(d, name))

        def aof(*args):
            return subprocess.run([GODIS_AOF, *args], capture_output=True, text=True, timeout=60)

        ok = aof("check", os.path.join(d, "golden-v1", "appendonlydir"))
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert ok.stdout.startswith("OK: 4 batches, 11 records")

        log = os.path.join(d, "bitflip-mid", "appendonlydir")
        before = {f: open(os.path.join(log, f), "rb").read() for f in os.listdir(log)}
        bad = aof("check", log)
        assert bad.returncode == 1
        assert "checksum mismatch" in bad.stdout and "godis-aof recover" in bad.stdout
        dry = aof("recover", log)
        assert dry.returncode == 0 and "Dry run: nothing changed" in dry.stdout
        assert {f: open(os.path.join(log, f), "rb").read() for f in os.listdir(log)} == before, "a dry run changed files"

        # The server refuses the damaged log with a message naming the file, the offset and the fix.
        port = free_port()
        refused = subprocess.run([GODIS, "--port", str(port), "--bind", "127.0.0.1", "--dir", os.path.join(d, "bitflip-mid")],
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode != 0
        assert "appendonly.aof.1.incr.aof at byte" in refused.stderr and "godis-aof recover" in refused.stderr

        salvage = aof("recover", "--mode", "salvage", "--apply", log)
        assert salvage.returncode == 0 and "Repaired" in salvage.stdout, salvage.stdout + salvage.stderr
        for f, data in before.items():  # no segment deleted or edited: the repair is a new segment + manifest
            if not f.endswith(".manifest"):
                assert open(os.path.join(log, f), "rb").read() == data
        assert aof("check", log).returncode == 0
        g = godis(os.path.join(d, "bitflip-mid"))
        try:
            assert g.client().dbsize() > 0
        finally:
            assert g.stop() == 0

        future = aof("check", os.path.join(d, "future-version", "appendonlydir"))
        # A newer format is not damage: check and recover refuse rather than "repair" it away.
        assert future.returncode != 0 and "written by format 2, this build reads format 1" in future.stdout + future.stderr
        refused = aof("recover", "--apply", os.path.join(d, "future-version", "appendonlydir"))
        assert refused.returncode != 0 and "use the Godis that wrote it" in refused.stderr


@pytest.mark.skipif(not os.path.exists(GODIS), reason="godis-server not built")
def test_torn_tail_is_cut_and_saved_at_startup():
    with tempfile.TemporaryDirectory() as d:
        shutil.copytree(os.path.join(FIXTURES, "torn-tail"), os.path.join(d, "t"))
        log = os.path.join(d, "t", "appendonlydir")
        g = godis(os.path.join(d, "t"))
        try:
            assert g.client().dbsize() >= 1
        finally:
            assert g.stop() == 0
        err = g.proc.stderr.read().decode()
        assert "Log tail cut" in err and "bytes dropped" in err
        assert any(".torn-" in f for f in os.listdir(log)), os.listdir(log)
