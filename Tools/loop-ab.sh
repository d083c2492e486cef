#!/usr/bin/env bash
# Interleaved A/B of Godis builds or settings under pipelined SETs, reporting the event-loop thread's CPU per
# request beside req/s: the loop is the bottleneck at pipeline 16, and its CPU is steadier than req/s on a shared
# machine. The first variant is the baseline the ratios are taken against.
#
#   Tools/loop-ab.sh ROUNDS 'LABEL|ENV|FLAGS|BINARY' ...
#   e.g. Tools/loop-ab.sh 5 'off||--appendonly no|/tmp/godis' 'everysec||--appendonly yes|/tmp/godis'
#
# Per round and variant: a fresh server on 127.0.0.1 (port $PORT, default 17396) and a fresh data directory,
# 200,000 SETs to fill the keys, then `redis-benchmark -t set -n $N -P 16 -c 50 -r 100000 -d 64` (N default
# 1,000,000), CPU read from /proc before and after (the process's, and its busiest thread's: the loop). Prints,
# per variant, the medians and the median and range of the per-round ratio to the first variant.
set -uo pipefail
rounds=$1
shift
port=${PORT:-17396}
n=${N:-1000000}
raw=$(mktemp)
dir=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$raw" "$dir"' EXIT
busiest() { for t in /proc/$1/task/*; do awk '{print $14+$15}' "$t/stat"; done | sort -n | tail -1; }
for _ in $(seq "$rounds"); do
  for spec in "$@"; do
    IFS='|' read -r label envs flags bin <<< "$spec"
    rm -rf "${dir:?}"/*
    # shellcheck disable=SC2086  # ENV and FLAGS are word lists
    env $envs "$bin" --bind 127.0.0.1 --port "$port" --dir "$dir" $flags > /dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do redis-cli -p "$port" ping > /dev/null 2>&1 && break; sleep 0.1; done
    redis-benchmark -p "$port" -t set -n 200000 -c 50 -r 100000 -d 64 -q > /dev/null
    c0=$(awk '{print $14+$15}' "/proc/$pid/stat"); l0=$(busiest "$pid")
    rps=$(redis-benchmark -p "$port" -t set -n "$n" -P 16 -c 50 -r 100000 -d 64 -q | tr '\r' '\n' \
      | grep "per second" | tail -1 | awk '{print $2}')
    c1=$(awk '{print $14+$15}' "/proc/$pid/stat"); l1=$(busiest "$pid")
    # /proc CPU times are in 1/100 s: ticks * 10,000 / requests = µs per request.
    echo "$label $rps $((c1 - c0)) $((l1 - l0))" | awk -v n="$n" '{print $1, $2, $3 * 10000 / n, $4 * 10000 / n}' >> "$raw"
    kill "$pid"
    wait "$pid" 2>/dev/null
    pid=
  done
done
python3 - "$raw" "$@" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
labels = [a.split('|')[0] for a in sys.argv[2:]]
per = {}
for r in rows:
    per.setdefault(r[0], []).append([float(x) for x in r[1:]])
base = per[labels[0]]
for l in labels:
    v = per[l]
    ratio = [a[0] / b[0] for a, b in zip(v, base)]
    loop = [a[2] / b[2] for a, b in zip(v, base)]
    print(f"{l:12s} req/s {st.median(x[0] for x in v):9.0f}  cpu/req {st.median(x[1] for x in v):.3f} us"
          f"  loop/req {st.median(x[2] for x in v):.3f} us  req/s ratio {st.median(ratio):.3f}"
          f" [{min(ratio):.3f}..{max(ratio):.3f}]  loop ratio {st.median(loop):.3f}")
PY
