"""The server under a low open-files limit: like Redis it lowers maxclients to fit (and says so), refuses
the connections past it with Redis's error, keeps serving the others without spinning, and accepts again
once clients leave. Runs over each transport."""

import os
import time

import pytest

from conftest import HOST, Server, _start, godis_binary
from respcodec import Reply, RespConn

LIMIT = 64          # ulimit -n for the server
RESERVED = 32       # descriptors Redis (and Godis) keep for themselves
CLIENTS = LIMIT - RESERVED


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("transport", ["epoll", "nio"])
def test_low_ulimit_lowers_maxclients_and_keeps_serving(tmp_path, transport):
    binary = godis_binary()
    if not os.access(binary, os.X_OK):
        pytest.skip(f"no godis binary at {binary}")
    srv = Server(
        f"godis-ulimit-{transport}",
        # exec keeps the PID: the server is still the direct child that srv.stop() signals.
        lambda port: ["bash", "-c", f'ulimit -n {LIMIT} && exec "$0" "$@"', binary, "--port", str(port),
                      "--bind", HOST, "--dir", str(tmp_path), "--appendonly", "no", "--io-transport", transport],
        str(tmp_path),
    )
    error = _start(srv)
    assert error is None, error
    conns = []
    try:
        assert f"maxclients has been reduced to {CLIENTS}" in srv.log_tail(8000)
        with srv.connect() as c:
            assert c.call("CONFIG", "GET", "maxclients") == Reply("*", (Reply("$", b"maxclients"),
                                                                         Reply("$", str(CLIENTS).encode())))
        for _ in range(CLIENTS):
            c = RespConn(HOST, srv.port)
            conns.append(c)
            assert c.call("PING") == Reply("+", b"PONG")
        extra = [RespConn(HOST, srv.port) for _ in range(5)]
        for c in extra:
            assert c.read() == Reply("-", b"ERR max number of clients reached")
            c.close()
        # Idle with every slot taken: the loop must not spin.
        before = cpu_seconds(srv.pid)
        time.sleep(1.0)
        assert cpu_seconds(srv.pid) - before < 0.3
        for c in conns:
            assert c.call("PING") == Reply("+", b"PONG")
        for c in conns[:10]:
            c.close()
        conns = conns[10:]
        deadline = time.monotonic() + 5
        while True:  # the server notices the closes asynchronously
            with RespConn(HOST, srv.port) as c:
                reply = c.call("PING")
            if reply == Reply("+", b"PONG") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert reply == Reply("+", b"PONG")
    finally:
        for c in conns:
            c.close()
        srv.stop()
