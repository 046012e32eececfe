#!/usr/bin/env bash
# run.sh: resident memory (RSS) of our local host holding ITEMS items of 110 bytes, side by side with dynalite
# holding DYNALITE_ITEMS, loaded the same way in the same run (bench/startup/load.js: BatchWriteItem, 16
# connections). Our host runs the ReadyToRun publish on a temporary data directory; RSS is read from
# /proc/PID/status (VmRSS, and VmHWM, the peak) idle before the load, right after it, and after a clean restart
# on the loaded store (what a fresh instance holds once it serves); also IDLE_SECONDS after the load, once the
# engine's idle compaction has run.
#
# Knobs [defaults]:
#   ITEMS           items in our host; 20000000 is the larger-than-memory size            [1000000]
#   DYNALITE_ITEMS  items in dynalite (0 skips it)                                          [1000000]
#   STORE_MEMORY    Engine__StoreMemoryBytes for our host (empty = the default)             []
#   HOST_ENV        extra environment for our host                                          []
#   IDLE_SECONDS    wait after the load before the second reading                           [3]
#   NO_BUILD        1 = reuse PUBLISHED_DIR (a `dotnet publish -c Release src/Host` output)  [0]
#   OUTDIR          raw results                                                             [/tmp/bench-memory-<date>]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
STARTUP="$REPO/bench/startup"
ITEMS="${ITEMS:-1000000}"
DYNALITE_ITEMS="${DYNALITE_ITEMS:-1000000}"
OUTDIR="${OUTDIR:-/tmp/bench-memory-$(date +%Y%m%d-%H%M%S)}"
TOOLS="${BENCH_TOOLS:-/tmp/bench-tools}"
DYNALITE="$TOOLS/node_modules/dynalite/cli.js"
PUBLISHED="${PUBLISHED_DIR:-$OUTDIR/r2r}"
mkdir -p "$OUTDIR"
read -ra HOST_ENV_ARGS <<< "${HOST_ENV:-}"
[[ -n "${STORE_MEMORY:-}" ]] && HOST_ENV_ARGS+=("Engine__StoreMemoryBytes=$STORE_MEMORY")

if [[ "${NO_BUILD:-0}" != 1 ]]; then
  dotnet publish -c Release "$REPO/src/Host" -o "$PUBLISHED" --nologo -v q > "$OUTDIR/publish.log" 2>&1 || { cat "$OUTDIR/publish.log" >&2; exit 1; }
fi
if [[ "$DYNALITE_ITEMS" -gt 0 && ! -f "$DYNALITE" ]]; then
  echo "installing dynalite 4.0.0 under $TOOLS (npm)" >&2
  mkdir -p "$TOOLS" && npm install --prefix "$TOOLS" dynalite@4.0.0 > "$OUTDIR/npm-install.log" 2>&1
fi

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
mib() { awk -v k="$2" '$1 == k":" {printf "%d MiB", $2 / 1024}' "/proc/$1/status"; }
rss() { echo "RSS $(mib "$1" VmRSS) (peak $(mib "$1" VmHWM))"; }
# start NAME COMMAND...: starts a server with first_answer.py, sets PID and URL.
start() {
  local name=$1 out; shift
  out=$(python3 "$STARTUP/first_answer.py" --timeout 900 --log "$OUTDIR/$name.log" "$@")
  PID=$(echo "$out" | sed -n 2p); URL="http://127.0.0.1:$(echo "$out" | sed -n 3p)"; PIDS+=("$PID")
}
stop() { kill -TERM "$1"; while kill -0 "$1" 2>/dev/null; do sleep 0.2; done; }

{
  echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet || echo '+dirty')"
  echo "cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)  memory: $(free -m | awk '/Mem:/{print $2}') MiB  loadavg: $(cat /proc/loadavg)"
} | tee "$OUTDIR/summary.txt"

data=$(mktemp -d /tmp/bench-memory-data.XXXXXX)
start ours --cwd "$data" -- env "${HOST_ENV_ARGS[@]}" "$PUBLISHED/Serverless.Host" --port {port} --data-dir "$data"
echo "ours, empty: $(rss "$PID")" | tee -a "$OUTDIR/summary.txt"
node "$STARTUP/load.js" "$URL" bench "$ITEMS" 16 | sed 's/^/ours: /' | tee -a "$OUTDIR/summary.txt"
echo "ours, $ITEMS items, after the load: $(rss "$PID")" | tee -a "$OUTDIR/summary.txt"
sleep "${IDLE_SECONDS:-3}" # the engine's idle compaction runs 1 s after the last write (Engine__IdleCompactionAfter)
echo "ours, $ITEMS items, ${IDLE_SECONDS:-3} s after the load: $(rss "$PID")" | tee -a "$OUTDIR/summary.txt"
stop "$PID"
echo "ours: data directory $(du -sh "$data" | cut -f1)" | tee -a "$OUTDIR/summary.txt"
start ours-restart --request get --key k0000000 --cwd "$data" -- env "${HOST_ENV_ARGS[@]}" "$PUBLISHED/Serverless.Host" --port {port} --data-dir "$data"
echo "ours, $ITEMS items, after a restart: $(rss "$PID")" | tee -a "$OUTDIR/summary.txt"
stop "$PID"
rm -rf "$data"

if [[ "$DYNALITE_ITEMS" -gt 0 ]]; then
  start dynalite -- node "$DYNALITE" --host 127.0.0.1 --port {port}
  echo "dynalite 4.0.0 (in memory), empty: $(rss "$PID")" | tee -a "$OUTDIR/summary.txt"
  node "$STARTUP/load.js" "$URL" bench "$DYNALITE_ITEMS" 16 | sed 's/^/dynalite: /' | tee -a "$OUTDIR/summary.txt"
  echo "dynalite 4.0.0 (in memory), $DYNALITE_ITEMS items: $(rss "$PID")" | tee -a "$OUTDIR/summary.txt"
  stop "$PID"
fi
echo "loadavg after: $(cat /proc/loadavg)" | tee -a "$OUTDIR/summary.txt"
