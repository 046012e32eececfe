#!/usr/bin/env bash
# run-query.sh: the same Query load against dynalite and against our local host, side by side (the shared harness
# has no Query op). Each server gets a hash+range table of NPART x PER items (~VALSIZE-byte values, loaded by
# qload.js), then wrk (query.lua) queries a random partition with Limit L for each L in LIMITS, at each
# threads:connections pair in CONNS, for DUR. Prints req/s, p50/p99 and the server's CPU time per request.
#   DUR [20s]  WARMUP [5s]  LIMITS ["10 100"]  CONNS ["1:1 2:16"]  REPEAT [1]  NPART [1000]  PER [100]  VALSIZE [100]
#   TARGETS ["dynalite ours"]  DYNALITE_PORT [4568]  BENCH_TOOLS [/tmp/bench-tools] (where shared/bench installs dynalite)
#   HOST_IN_MEMORY=1 runs our host in memory; NO_BUILD=1 skips the Release build.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/host.sh"
DUR="${DUR:-20s}"; WARMUP="${WARMUP:-5s}"; LIMITS="${LIMITS:-10 100}"; CONNS="${CONNS:-1:1 2:16}"; REPEAT="${REPEAT:-1}"
NPART="${NPART:-1000}"; PER="${PER:-100}"; VALSIZE="${VALSIZE:-100}"; TARGETS="${TARGETS:-dynalite ours}"
DYNALITE_PORT="${DYNALITE_PORT:-4568}"
BENCH_TOOLS="${BENCH_TOOLS:-/tmp/bench-tools}"
DYNALITE="${DYNALITE:-$BENCH_TOOLS/node_modules/dynalite/cli.js}"
OUTDIR="${OUTDIR:-/tmp/bench-query-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUTDIR"
HZ=$(getconf CLK_TCK)
command -v wrk > /dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }

DYN_PID=""
cleanup() { stop_host; if [[ -n "$DYN_PID" ]]; then kill "$DYN_PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

jiffies() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12+$13}'; }

# run_target NAME URL PID
run_target() {
  local name=$1 url=$2 pid=$3
  node "$HERE/qload.js" "$url" qbench "$NPART" "$PER" "$VALSIZE"
  export NPART TABLE=qbench
  LIMIT=10 wrk -t2 -c16 -d"$WARMUP" -s "$HERE/query.lua" "$url/" > /dev/null 2>&1
  for r in $(seq "$REPEAT"); do
    for limit in $LIMITS; do
      for tc in $CONNS; do
        local t c f s0 s1
        t=${tc%%:*}; c=${tc##*:}; f="$OUTDIR/$name-l$limit-c$c-r$r.txt"
        s0=$(jiffies "$pid")
        LIMIT=$limit wrk -t"$t" -c"$c" -d"$DUR" --latency -s "$HERE/query.lua" "$url/" > "$f" 2>&1
        s1=$(jiffies "$pid")
        awk -v name="$name" -v r="$r" -v t="$t" -v c="$c" -v s=$((s1 - s0)) -v hz="$HZ" '/^RESULT/{
            for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            non = 0
            printf "%-8s r=%s Query limit=%s t=%s c=%-3s rps=%8.0f p50=%5.2fms p99=%6.2fms status_err=%s server_us/req=%.1f\n",
              name, r, v["limit"], t, c, v["rps"], v["p50"] / 1000, v["p99"] / 1000, v["status"], (v["requests"] > 0 ? s / hz * 1e6 / v["requests"] : 0) }' "$f" \
          | tee -a "$OUTDIR/summary.txt"
        if grep -q "Non-2xx" "$f"; then grep "Non-2xx" "$f" | sed "s/^/$name: /" | tee -a "$OUTDIR/summary.txt"; fi
      done
    done
  done
}

for target in $TARGETS; do
  case "$target" in
    dynalite)
      if [[ ! -f "$DYNALITE" ]]; then
        echo "installing dynalite 4.0.0 under $BENCH_TOOLS (npm)" >&2
        mkdir -p "$BENCH_TOOLS" && npm install --prefix "$BENCH_TOOLS" dynalite@4.0.0 > /tmp/bench-npm-install.log 2>&1
      fi
      node "$DYNALITE" --host 127.0.0.1 --port "$DYNALITE_PORT" --createTableMs 0 --deleteTableMs 0 > "$OUTDIR/dynalite.log" 2>&1 &
      DYN_PID=$!
      for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$DYNALITE_PORT/" && break; sleep 0.2; done
      run_target dynalite "http://127.0.0.1:$DYNALITE_PORT" "$DYN_PID"
      kill "$DYN_PID" 2>/dev/null || true; wait "$DYN_PID" 2>/dev/null || true; DYN_PID=""
      ;;
    ours)
      build_host
      start_host
      run_target ours "$HOST_URL" "$HOST_PID"
      stop_host
      ;;
    *) echo "unknown target $target" >&2; exit 1 ;;
  esac
done
echo "raw outputs in $OUTDIR"
