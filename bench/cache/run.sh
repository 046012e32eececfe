#!/usr/bin/env bash
# run.sh: hot reads over HTTP, straight to the table and through a DAX-style cache cluster, in the same sitting.
# Starts the Release local host (in memory by default), loads NKEYS items and NPART x 100 items (load.py, boto3),
# creates cluster "bench", then for OP in OPS and each threads:connections pair in CONNS runs wrk (cache.lua) for
# DUR against "/" (the table) and "/dax/bench" (the cache), and prints req/s, latency and server CPU per request.
#   DUR [20s]  WARMUP [5s]  OPS ["get query"]  CONNS ["1:1 2:16"]  REPEAT [1]  NKEYS [1000]  NPART [100]  LIMIT [10]
#   NO_BUILD=1 skips the Release build; HOST_IN_MEMORY [1].
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../http/host.sh"
DUR="${DUR:-20s}"; WARMUP="${WARMUP:-5s}"; OPS="${OPS:-get query}"; CONNS="${CONNS:-1:1 2:16}"; REPEAT="${REPEAT:-1}"
NKEYS="${NKEYS:-1000}"; NPART="${NPART:-100}"; LIMIT="${LIMIT:-10}"
export HOST_IN_MEMORY="${HOST_IN_MEMORY:-1}" NKEYS NPART LIMIT
OUTDIR="${OUTDIR:-/tmp/bench-cache-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUTDIR"
HZ=$(getconf CLK_TCK)
command -v wrk > /dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
trap stop_host EXIT

jiffies() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12+$13}'; }

build_host
start_host
python3 "$HERE/load.py" "$HOST_URL" "$NKEYS" "$NPART" > "$OUTDIR/load.txt"
for op in $OPS; do OP=$op wrk -t2 -c16 -d"$WARMUP" -s "$HERE/cache.lua" "$HOST_URL/dax/bench" > /dev/null 2>&1; done

printf '%-6s %-6s %-5s %10s %8s %8s %12s\n' op via conns req/s p50_us p99_us server_us/req
for r in $(seq "$REPEAT"); do
  for op in $OPS; do
    for tc in $CONNS; do
      t=${tc%%:*}; c=${tc##*:}
      for via in table cache; do
        path=/; [[ $via == cache ]] && path=/dax/bench
        f="$OUTDIR/$op-$via-c$c-r$r.txt"
        s0=$(jiffies "$HOST_PID")
        OP=$op wrk -t"$t" -c"$c" -d"$DUR" --latency -s "$HERE/cache.lua" "$HOST_URL$path" > "$f" 2>&1
        s1=$(jiffies "$HOST_PID")
        line=$(grep '^RESULT' "$f")
        reqs=$(sed 's/.* requests=\([0-9]*\).*/\1/' <<< "$line")
        rps=$(sed 's/.* rps=\([0-9.]*\).*/\1/' <<< "$line")
        p50=$(sed 's/.* p50=\([0-9]*\).*/\1/' <<< "$line")
        p99=$(sed 's/.* p99=\([0-9]*\).*/\1/' <<< "$line")
        grep -q 'status=0 ' <<< "$line" || echo "warning: non-2xx answers in $f" >&2
        cpu=$(awk -v a="$s0" -v b="$s1" -v n="$reqs" -v hz="$HZ" 'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / (n > 0 ? n : 1) }')
        printf '%-6s %-6s %-5s %10s %8s %8s %12s\n' "$op" "$via" "$c" "$rps" "$p50" "$p99" "$cpu"
      done
    done
  done
done
curl -s "$HOST_URL/admin/metrics" > "$OUTDIR/metrics.json"
echo "raw output and /admin/metrics in $OUTDIR" >&2
