"""Process-level crash test: real clients write, the server is SIGKILLed at a random moment, restarted on the
same directory, and every write a client saw acknowledged must be there.

SIGKILL keeps the page cache, so this proves "acknowledged means written" in every fsync mode (replies leave only
after the tick's log write); what fsync adds against power loss is proved by the power-loss simulation in
Tests/StorageTests. Self-contained: starts its own servers on 127.0.0.1, stops them by PID.
"""
import os
import random
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import redis

GODIS = os.environ.get("GODIS_SERVER", os.path.join(os.path.dirname(__file__), "../../.build/debug/godis-server"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(directory, port, mode):
    proc = subprocess.Popen(
        [GODIS, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory,
         "--appendonly", "yes", "--appendfsync", mode],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError("godis-server exited: " + proc.stderr.read().decode(errors="replace"))
        try:
            if redis.Redis(port=port, socket_timeout=1).ping():
                return proc
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("godis-server did not answer PING within 20 s")


def writer(port, name, acked, stop):
    """INCRs its own counter; records the last value the server acknowledged."""
    try:
        r = redis.Redis(port=port, socket_timeout=5)
        while not stop.is_set():
            acked[name] = r.incr(name)
            r.set(f"{name}:last", acked[name])
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
        pass


@pytest.mark.skipif(not os.path.exists(GODIS), reason="godis-server not built")
@pytest.mark.parametrize("mode", ["always", "everysec", "no"])
def test_sigkill_loses_no_acknowledged_write(mode):
    rng = random.Random(hash(mode) & 0xFFFF)
    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        expected = {}
        for round_ in range(4):
            proc = start(directory, port, mode)
            try:
                r = redis.Redis(port=port, socket_timeout=5)
                # Everything acknowledged before this round must have survived every earlier kill.
                for name, value in expected.items():
                    got = int(r.get(name) or 0)
                    # At most the one INCR that was in flight when the server died may also be there.
                    assert value <= got <= value + 1, f"{mode} round {round_}: {name} acked {value}, recovered {got}"
                    expected[name] = got
                acked, stop = dict(expected), threading.Event()
                threads = [threading.Thread(target=writer, args=(port, f"c{i}", acked, stop)) for i in range(4)]
                for t in threads:
                    t.start()
                time.sleep(rng.uniform(0.2, 0.8))
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
                stop.set()
                for t in threads:
                    t.join(timeout=10)
                expected.update(acked)
                assert any(v > 0 for v in acked.values()), "the writers made no progress"
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
        proc = start(directory, port, mode)
        try:
            r = redis.Redis(port=port, socket_timeout=5)
            for name, value in expected.items():
                got = int(r.get(name) or 0)
                assert value <= got <= value + 1, f"{mode} final: {name} acked {value}, recovered {got}"
        finally:
            proc.terminate()
            proc.wait(timeout=20)
