#!/usr/bin/env bash
# run.sh: what a restart with ITEMS items (about 110 bytes each) costs, on a data directory.
#  1. load ITEMS items, stop the host gracefully (flush + checkpoint), start it again: time to the first answered
#     request, and the host's own breakdown ("store opened: FASTER recovery, log replay, item pass")
#  2. load LOG_ITEMS more items, SIGKILL the host (no checkpoint: those records are replayed), start again: the same
# Knobs: ITEMS (1000000), LOG_ITEMS (100000), STORE_MB (512, Engine__StoreMemoryBytes), NO_BUILD, BENCH_DIR.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../http/host.sh"
BENCH_DIR="${BENCH_DIR:-$REPO_ROOT/../shared/bench}"
ITEMS="${ITEMS:-1000000}"
LOG_ITEMS="${LOG_ITEMS:-100000}"
export Engine__StoreMemoryBytes=$(( ${STORE_MB:-512} * 1048576 ))
DATA="$(mktemp -d /tmp/ddb-restart.XXXXXX)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
PID=""
cleanup() { [[ -n "$PID" ]] && kill -KILL "$PID" 2>/dev/null || true; rm -rf "$DATA" "$DATA".log*; }
trap cleanup EXIT
now() { date +%s.%N; }
launch() { # $1: log file; sets PID and SECS (seconds until a request was answered); not in a subshell, so PID is kept
  local t0; t0=$(now)
  (cd "$DATA" && exec dotnet "$HOST_DLL" --host 127.0.0.1 --port "$PORT" --data-dir "$DATA") > "$1" 2>&1 &
  PID=$!
  until curl -s -o /dev/null -X POST "$URL/" -H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
      -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIAFAKE/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00' -d '{}'; do
    kill -0 "$PID" 2>/dev/null || { cat "$1" >&2; exit 1; }
    sleep 0.02
  done
  SECS=$(echo "$(now) - $t0" | bc)
}
rss() { grep -E 'VmRSS|VmHWM' "/proc/$PID/status" | tr -s ' \t' ' ' | tr '\n' ' '; }
build_host
launch "$DATA.log0" > /dev/null
node "$BENCH_DIR/ddbctl.js" create "$URL" bench
node "$BENCH_DIR/ddbctl.js" load "$URL" bench 0 "$ITEMS" 25 16 100 | tail -1
echo "after load: $(rss)"
kill -TERM "$PID"; wait "$PID" || true
echo "data directory: $(du -sh "$DATA" | cut -f1) (store $(du -sh "$DATA/store" | cut -f1), log $(du -sh "$DATA/changelog" | cut -f1))"
launch "$DATA.log1"
echo "restart after a graceful stop ($ITEMS items): first answer after $SECS s; $(grep -o 'store opened: .*' "$DATA.log1"); $(rss)"
node "$BENCH_DIR/ddbctl.js" load "$URL" bench "$ITEMS" "$(( ITEMS + LOG_ITEMS ))" 25 16 100 | tail -1
kill -KILL "$PID"; wait "$PID" 2>/dev/null || true
launch "$DATA.log2"
echo "restart after SIGKILL ($LOG_ITEMS records to replay): first answer after $SECS s; $(grep -o 'store opened: .*' "$DATA.log2"); $(rss)"
kill -TERM "$PID"; wait "$PID" || true
PID=""
