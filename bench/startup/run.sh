#!/usr/bin/env bash
# run.sh: start-up time, from spawning the process to its first answered request, for
#   (a) our local host (src/Host) with an empty store: the Release publish, Native AOT ("aot", the default
#       publish), the ReadyToRun publish ("r2r", the publish before Native AOT: -p:PublishAot=false) and the plain
#       Release build ("il", what start-up was before ReadyToRun), each on a fresh data directory;
#   (b) dynalite (in memory), in the same run;
#   (c) our host restarting on a data directory holding ITEMS items of 110 bytes: after a clean stop (SIGTERM,
#       which checkpoints) and after a SIGKILL, to the first answered GetItem.
# Each start is timed by first_answer.py (monotonic clock, a tiny request every 2 ms on a fresh connection),
# N times; the summary gives the median and p90 of each series, plus one start-up trace of each host build
# (LocalHost__StartupTrace: the phases and the JIT's share, see docs/startup.md).
#
# Knobs [defaults]:
#   N            starts per series                                      [10]
#   ITEMS        items for the restart series (0 skips (c))             [1000000]
#   RESTARTS     restarts per kind in (c)                               [5]
#   SERIES       which of: aot r2r il dynalite restart                  ["aot r2r il dynalite restart"]
#   RESTART_HOST the build the restart series (c) runs: aot or r2r      [aot]
#   NO_BUILD     1 = use the existing builds: PUBLISHED_DIR (aot), R2R_DIR (r2r)  [0]
#   HOST_ENV     extra environment for our host, e.g. "DOTNET_TieredPGO=0"  []
#   OUTDIR       raw results                                            [/tmp/bench-startup-<date>]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
N="${N:-10}"
ITEMS="${ITEMS:-1000000}"
RESTARTS="${RESTARTS:-5}"
SERIES="${SERIES:-aot r2r il dynalite restart}"
RESTART_HOST="${RESTART_HOST:-aot}"
OUTDIR="${OUTDIR:-/tmp/bench-startup-$(date +%Y%m%d-%H%M%S)}"
TOOLS="${BENCH_TOOLS:-/tmp/bench-tools}"
DYNALITE="$TOOLS/node_modules/dynalite/cli.js"
PUBLISHED="$OUTDIR/aot"
R2R="$OUTDIR/r2r"
IL_HOST="$REPO/src/Host/bin/Release/net10.0/Serverless.Host"
mkdir -p "$OUTDIR"
read -ra HOST_ENV_ARGS <<< "${HOST_ENV:-}"
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local

wants() { [[ " $SERIES " == *" $1 "* || ( " $SERIES " == *" restart "* && "$RESTART_HOST" == "$1" ) ]]; }
if [[ "${NO_BUILD:-0}" != 1 ]]; then
  # build LOG COMMAND...: one build step, its output kept in $OUTDIR/LOG and shown only if it fails.
  build() { local log=$1; shift; echo "building: $*" >&2; "$@" --nologo -v q > "$OUTDIR/$log" 2>&1 || { cat "$OUTDIR/$log" >&2; exit 1; }; }
  if wants il; then build build.log dotnet build -c Release "$REPO/src/Host"; fi
  if wants aot; then build publish-aot.log dotnet publish -c Release "$REPO/src/Host" -o "$PUBLISHED"; fi
  if wants r2r; then build publish-r2r.log dotnet publish -c Release "$REPO/src/Host" -p:PublishAot=false -o "$R2R"; fi
else
  PUBLISHED="${PUBLISHED_DIR:-$PUBLISHED}"
  R2R="${R2R_DIR:-$R2R}"
fi
AOT_HOST="$PUBLISHED/Serverless.Host"
R2R_HOST="$R2R/Serverless.Host"
if [[ "$RESTART_HOST" == r2r ]]; then RESTART_EXE="$R2R_HOST"; else RESTART_EXE="$AOT_HOST"; fi
if [[ " $SERIES " == *" dynalite "* && ! -f "$DYNALITE" ]]; then
  echo "installing dynalite 4.0.0 under $TOOLS (npm)" >&2
  mkdir -p "$TOOLS" && npm install --prefix "$TOOLS" dynalite@4.0.0 > "$OUTDIR/npm-install.log" 2>&1
fi

# record FILE OUTPUT: the wall seconds of a first_answer.py output to FILE, its server CPU seconds to FILE.cpu.
record() {
  local first; first=$(echo "$2" | head -1)
  echo "$first" | cut -d' ' -f1 >> "$1"
  echo "$first" | cut -d' ' -f3 >> "$1.cpu"
}

# time_start FILE ARGS...: one timed start (first_answer.py ARGS), the seconds appended to FILE.
time_start() {
  local file=$1; shift
  local out; out=$(python3 "$HERE/first_answer.py" "$@")
  record "$file" "$out"
}

# host_series NAME EXE: N starts of our host on fresh data directories.
host_series() {
  local name=$1 exe=$2 d out
  : > "$OUTDIR/$name.txt"; : > "$OUTDIR/$name.txt.cpu"
  for _ in $(seq "$N"); do
    d=$(mktemp -d /tmp/bench-startup-data.XXXXXX)
    out=$(env "${HOST_ENV_ARGS[@]}" python3 "$HERE/first_answer.py" --stop --cwd "$d" -- "$exe" --port {port} --data-dir "$d")
    record "$OUTDIR/$name.txt" "$out"
    rm -rf "$d"
  done
  d=$(mktemp -d /tmp/bench-startup-data.XXXXXX)
  env "${HOST_ENV_ARGS[@]}" LocalHost__StartupTrace=true python3 "$HERE/first_answer.py" --stop --cwd "$d" --log "$OUTDIR/$name-trace.log" \
    -- "$exe" --port {port} --data-dir "$d" > /dev/null
  rm -rf "$d"
}

# stats FILE: median, p90 and min of the wall times in FILE, and the median server CPU time (FILE.cpu), in ms.
stats() {
  python3 - "$1" <<'PY'
import math, os, sys, statistics
def load(path):
    return sorted(float(x) for x in open(path) if x.strip() and not math.isnan(float(x))) if os.path.exists(path) else []
v = load(sys.argv[1]); c = load(sys.argv[1] + ".cpu")
if not v: print("n/a"); sys.exit()
p90 = v[min(len(v) - 1, math.ceil(0.9 * len(v)) - 1)]
cpu = f"; server CPU median {statistics.median(c) * 1000:.0f} ms" if c else ""
print(f"median {statistics.median(v) * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms, min {v[0] * 1000:.0f} ms (n={len(v)}){cpu}")
PY
}

{
  echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet || echo '+dirty')"
  echo "cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)  dotnet: $(dotnet --version)  node: $(node --version)"
  echo "loadavg before: $(cat /proc/loadavg)"
} | tee "$OUTDIR/summary.txt"

for series in $SERIES; do
  case "$series" in
    aot) host_series aot "$AOT_HOST"
         echo "(a) our host, Native AOT publish (the default), empty store: $(stats "$OUTDIR/aot.txt")" | tee -a "$OUTDIR/summary.txt" ;;
    r2r) host_series r2r "$R2R_HOST"
         echo "(a) our host, ReadyToRun publish, empty store: $(stats "$OUTDIR/r2r.txt")" | tee -a "$OUTDIR/summary.txt" ;;
    il) host_series il "$IL_HOST"
        echo "(a) our host, plain Release build (no ReadyToRun), empty store: $(stats "$OUTDIR/il.txt")" | tee -a "$OUTDIR/summary.txt" ;;
    dynalite)
      : > "$OUTDIR/dynalite.txt"
      for _ in $(seq "$N"); do
        time_start "$OUTDIR/dynalite.txt" --stop -- node "$DYNALITE" --host 127.0.0.1 --port {port}
      done
      echo "(b) dynalite 4.0.0 (in memory): $(stats "$OUTDIR/dynalite.txt")" | tee -a "$OUTDIR/summary.txt" ;;
    restart)
      [[ "$ITEMS" -gt 0 ]] || continue
      data=$(mktemp -d /tmp/bench-startup-data.XXXXXX)
      out=$(python3 "$HERE/first_answer.py" --cwd "$data" --log "$OUTDIR/restart-load.log" -- "$RESTART_EXE" --port {port} --data-dir "$data")
      pid=$(echo "$out" | sed -n 2p); port=$(echo "$out" | sed -n 3p)
      node "$HERE/load.js" "http://127.0.0.1:$port" bench "$ITEMS" 16 | tee -a "$OUTDIR/summary.txt"
      kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
      echo "data directory: $(du -sh "$data" | cut -f1)" | tee -a "$OUTDIR/summary.txt"
      : > "$OUTDIR/restart-clean.txt"; : > "$OUTDIR/restart-kill.txt"
      for _ in $(seq "$RESTARTS"); do
        time_start "$OUTDIR/restart-clean.txt" --stop --request get --key k0000000 --timeout 600 --cwd "$data" \
          --log "$OUTDIR/restart.log" -- "$RESTART_EXE" --port {port} --data-dir "$data"
      done
      for _ in $(seq "$RESTARTS"); do
        # Start, answer, SIGKILL (no flush, no checkpoint), then time the next start.
        out=$(python3 "$HERE/first_answer.py" --request get --key k0000000 --timeout 600 --cwd "$data" --log "$OUTDIR/restart.log" \
          -- "$RESTART_EXE" --port {port} --data-dir "$data")
        kill -KILL "$(echo "$out" | sed -n 2p)"; sleep 0.5
        time_start "$OUTDIR/restart-kill.txt" --stop --request get --key k0000000 --timeout 600 --cwd "$data" \
          --log "$OUTDIR/restart.log" -- "$RESTART_EXE" --port {port} --data-dir "$data"
      done
      rm -rf "$data"
      echo "(c) our host ($RESTART_HOST), restart with $ITEMS items after a clean stop: $(stats "$OUTDIR/restart-clean.txt")" | tee -a "$OUTDIR/summary.txt"
      echo "(c) our host ($RESTART_HOST), restart with $ITEMS items after SIGKILL: $(stats "$OUTDIR/restart-kill.txt")" | tee -a "$OUTDIR/summary.txt" ;;
  esac
done

for name in aot r2r il; do
  if [[ -f "$OUTDIR/$name-trace.log" ]]; then
    echo "trace ($name):" | tee -a "$OUTDIR/summary.txt"
    grep -E 'startup-trace|Engine open' "$OUTDIR/$name-trace.log" | sed 's/^/  /' | tee -a "$OUTDIR/summary.txt"
  fi
done
echo "loadavg after: $(cat /proc/loadavg)" | tee -a "$OUTDIR/summary.txt"
echo "raw results: $OUTDIR" >&2
