#!/usr/bin/env bash
# Side-by-side benchmark of godis-server and the real redis-server, through ../shared/bench/compare.sh
# (interleaved rounds, server CPU per request, req/s, RSS, log size, load time).
#
#   Tools/bench.sh [off|always|everysec|no]     persistence mode for both servers (default: off)
#   Tools/bench.sh transports                   Godis over SwiftNIO (A) against Godis over epoll (B), no persistence
#
# Environment knobs are compare.sh's (ROUNDS, PHASES, N_P1, N_P16, LOAD_KEYS, ...). Results: stdout and
# the run directory compare.sh prints.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-off}
compare=${COMPARE:-../shared/bench/compare.sh}
swift build -c release --product godis-server >&2
bin=$(swift build -c release --show-bin-path)/godis-server
case $mode in
  transports)
    LABEL_A=nio LABEL_B=epoll exec bash "$compare" \
      "$bin --bind 127.0.0.1 --port \$PORT --dir \$DIR --appendonly no --io-transport nio" \
      "$bin --bind 127.0.0.1 --port \$PORT --dir \$DIR --appendonly no --io-transport epoll" ;;
  off)
    redis_flags='--appendonly no'
    godis_flags='--appendonly no' ;;
  always|everysec|no)
    redis_flags="--appendonly yes --appendfsync $mode"
    godis_flags="--appendonly yes --appendfsync $mode" ;;
  *) echo "usage: $0 [off|always|everysec|no|transports]" >&2; exit 2 ;;
esac
LABEL_A=redis LABEL_B=godis bash "$compare" \
  "redis-server --bind 127.0.0.1 --port \$PORT --dir \$DIR --save '' $redis_flags" \
  "$bin --bind 127.0.0.1 --port \$PORT --dir \$DIR $godis_flags"
