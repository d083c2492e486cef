#!/usr/bin/env bash
# Runs every test: the Swift suites (RESP, engine, storage, server over loopback), then the integration suite
# that drives the built godis-server with redis-py, redis-cli and a real redis-server as the oracle.
# Needs: swift, redis-server and redis-cli (Debian's redis-server/redis-tools), python3 with redis and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build
swift test

if [ -d Tests/integration ]; then
  GODIS_SERVER="$PWD/.build/debug/godis-server" GODIS_AOF="$PWD/.build/debug/godis-aof" \
    python3 -m pytest -q Tests/integration
  # The same protocol and client tests over the SwiftNIO transport (the run above uses the default, epoll).
  GODIS_SERVER="$PWD/.build/debug/godis-server" GODIS_IO_TRANSPORT=nio \
    python3 -m pytest -q Tests/integration/test_protocol.py Tests/integration/test_clients.py
fi
