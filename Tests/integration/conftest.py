"""Fixtures: a real redis-server (the oracle) and the Godis server under test.

Both listen on 127.0.0.1 only, on a free port found by binding port 0, and are
started as direct children with subprocess.Popen and stopped by PID
(terminate, bounded wait, kill). Every wait loop is bounded.

Environment:
    GODIS_SERVER         path of the Godis binary (default: <repo>/.build/debug/godis-server)
    GODIS_ALLOW_MISSING  set to 1 to skip (instead of fail) Godis tests when the binary is missing
    GODIS_IO_TRANSPORT   epoll or nio: the transport of the shared Godis server (default: the server's own)
    REDIS_SERVER         path of the real redis-server (default: redis-server on PATH)
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from respcodec import RespConn  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_GODIS = os.path.join(REPO, ".build", "debug", "godis-server")
HOST = "127.0.0.1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def ping_ok(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            data = b""
            deadline = time.monotonic() + timeout
            while b"\r\n" not in data and time.monotonic() < deadline:
                chunk = s.recv(64)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b"+PONG\r\n")
    except OSError:
        return False


class Server:
    """One server process. `argv_for(port)` builds its command line."""

    def __init__(self, name, argv_for, workdir):
        self.name = name
        self.argv_for = argv_for
        self.workdir = workdir
        self.host = HOST
        self.port = None
        self.proc = None
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.restarts = 0

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n: int = 4000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
            return data[-n:].decode("utf-8", "replace")
        except OSError:
            return "<no log>"

    def crash_summary(self, limit: int = 12) -> str:
        """The interesting lines (fatal errors, source locations) of the log since the last start."""
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        text = text[text.rfind("=== start"):]
        keys = ("fatal", "runtime failure", "panic", "precondition", "assertion", "/Sources/", "signal")
        lines = [ln.strip() for ln in text.splitlines() if any(k in ln.lower() or k in ln for k in keys)]
        return "\n".join(lines[:limit])

    def wait_exit(self, timeout: float = 5.0):
        """Waits (bounded) for the process to exit; returns its status or None if still running."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def start(self):
        last_error = None
        for _attempt in range(3):  # a port can be taken between probe and bind
            port = free_port()
            argv = self.argv_for(port)
            log = open(self.log_path, "ab")
            log.write(f"\n=== start {argv}\n".encode())
            log.flush()
            try:
                self.proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                )
            finally:
                log.close()
            self.port = port
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if ping_ok(port):
                    return self
                time.sleep(0.05)
            if self.proc.poll() is None:
                last_error = f"{self.name} did not answer PING within {START_TIMEOUT}s on port {port}"
                self.stop()
                break
            last_error = f"{self.name} exited with status {self.proc.returncode} during startup"
            self.proc = None
            if "in use" not in self.log_tail(500).lower():
                break
        raise RuntimeError(f"{last_error}\nargv: {argv}\n--- log tail ({self.log_path}) ---\n{self.log_tail()}")

    def stop(self):
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                try:
                    p.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    pass
        self.proc = None

    def connect(self, timeout: float = 5.0) -> RespConn:
        return RespConn(self.host, self.port, timeout=timeout)

    def __repr__(self):
        return f"<{self.name} pid={self.pid} port={self.port}>"


def _start(srv):
    """Starts srv; returns an error message instead of raising (keeps pytest output short)."""
    try:
        srv.start()
        return None
    except RuntimeError as e:
        return str(e)


def _redis_binary():
    path = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
    if not path or not os.path.exists(path):
        pytest.fail("redis-server not found (set REDIS_SERVER); it is the oracle for these tests")
    return path


@pytest.fixture(scope="session")
def redis_oracle(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("redis-oracle"))
    binary = _redis_binary()
    srv = Server(
        "redis-oracle",
        lambda port: [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
                      "--dir", workdir],
        workdir,
    )
    error = _start(srv)
    if error:
        pytest.fail(error, pytrace=False)
    yield srv
    srv.stop()


def godis_binary():
    return os.environ.get("GODIS_SERVER") or DEFAULT_GODIS


def transport_flags():
    transport = os.environ.get("GODIS_IO_TRANSPORT")
    return ["--io-transport", transport] if transport else []


@pytest.fixture(scope="session")
def _godis_server(tmp_path_factory):
    binary = godis_binary()
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        msg = (f"Godis binary not found or not executable: {binary}\n"
               f"Build it (swift build) or set GODIS_SERVER=/path/to/godis-server; "
               f"set GODIS_ALLOW_MISSING=1 to skip instead of failing.")
        if os.environ.get("GODIS_ALLOW_MISSING") == "1":
            pytest.skip(msg)
        pytest.fail(msg, pytrace=False)
    workdir = str(tmp_path_factory.mktemp("godis"))
    srv = Server(
        "godis",
        lambda port: [binary, "--port", str(port), "--bind", HOST, "--dir", workdir, "--appendonly", "no",
                      *transport_flags()],
        workdir,
    )
    error = _start(srv)
    if error:
        pytest.fail(error, pytrace=False)
    yield srv
    srv.stop()


@pytest.fixture
def godis(_godis_server):
    """The Godis server; restarted if a previous test killed it; a test that kills it errors out."""
    srv = _godis_server
    if not srv.alive() or not ping_ok(srv.port, timeout=2.0):
        srv.stop()
        srv.restarts += 1
        error = _start(srv)
        if error:
            pytest.fail(f"could not restart godis: {error}", pytrace=False)
    yield srv
    if not srv.alive() or not ping_ok(srv.port, timeout=2.0):
        # a crashing Swift binary may take a moment to print its backtrace and exit
        code = srv.wait_exit(5.0)
        state = f"died with exit status {code}" if code is not None else "stopped answering PING"
        summary = srv.crash_summary() or f"(nothing recognisable; log tail follows)\n{srv.log_tail(1500)}"
        pytest.fail(f"godis server (pid {srv.pid}) {state} during this test\n"
                    f"--- crash summary ({srv.log_path}) ---\n{summary}", pytrace=False)
