#!/usr/bin/env bash
# run.sh: the blob-storage backend under load, on a local Azurite (installed by the tests into .tools/azurite).
#  1. load ITEMS items, run the Checkpoint function: checkpoint + snapshot upload time, and how much the container grew
#  2. write LOG_ITEMS more items (log records after the snapshot), SIGKILL the host, wait out its lease, and time a
#     fresh instance (empty data dir) until it serves: download + snapshot load + log replay
#  3. PutItem throughput/latency over HTTP with blob durability (the shared wrk harness, SKIP_SETUP=1)
#  4. point-in-time restore of the ITEMS-item table (UseLatestRestorableTime) until the new table is ACTIVE
# Knobs: ITEMS (1000000), LOG_ITEMS (100000), DUR (10s), CONNS ("1:1 2:16"), NO_BUILD, BENCH_DIR, REPEAT (1),
#   PUT_ONLY=1 (only step 3, on an empty table: the PutItem figure without the long load and recovery steps),
#   and any Engine__Blob__* setting, e.g. Engine__Blob__AppendsInFlight=1 for one append at a time.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../http/host.sh"
BENCH_DIR="${BENCH_DIR:-$REPO_ROOT/../shared/bench}"
ITEMS="${ITEMS:-1000000}"
LOG_ITEMS="${LOG_ITEMS:-100000}"
AZURITE="$REPO_ROOT/.tools/azurite/node_modules/azurite/dist/src/azurite.js"
[[ -f "$AZURITE" ]] || { echo "run ./test.sh once first (it installs Azurite into .tools/azurite)" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BPORT=$(free_port); QPORT=$(free_port); TPORT=$(free_port)
AZDIR="$(mktemp -d /tmp/bench-azurite.XXXXXX)"
node "$AZURITE" --silent --disableTelemetry --skipApiVersionCheck --location "$AZDIR" --blobHost 127.0.0.1 --queueHost 127.0.0.1 \
  --tableHost 127.0.0.1 --blobPort "$BPORT" --queuePort "$QPORT" --tablePort "$TPORT" > "$AZDIR.log" 2>&1 &
AZPID=$!
cleanup() { stop_host; kill "$AZPID" 2>/dev/null || true; rm -rf "$AZDIR" "$AZDIR.log"; }
trap cleanup EXIT
# Wait until Azurite answers (it can take a while on a loaded machine).
for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$BPORT/" && break; sleep 0.1; done
export AzureWebJobsStorage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$BPORT/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$QPORT/devstoreaccount1;"
export Engine__Blob__LeaseSeconds=15 Engine__Blob__Standby=true
call() { curl -s -X POST "$HOST_URL/" -H 'Content-Type: application/x-amz-json-1.0' -H "X-Amz-Target: DynamoDB_20120810.$1" \
  -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIAFAKE/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00' -d "$2"; }
now() { date +%s.%N; }
build_host
start_host
node "$BENCH_DIR/ddbctl.js" create "$HOST_URL" bench
if [[ "${PUT_ONLY:-0}" != 1 ]]; then
call UpdateContinuousBackups '{"TableName":"bench","PointInTimeRecoverySpecification":{"PointInTimeRecoveryEnabled":true}}' > /dev/null
node "$BENCH_DIR/ddbctl.js" load "$HOST_URL" bench 0 "$ITEMS" 25 16 100 | tail -1
before=$(du -sb "$AZDIR" | cut -f1)
t0=$(now); curl -s -o /dev/null -X POST "$HOST_URL/admin/functions/Checkpoint"; t1=$(now)
after=$(du -sb "$AZDIR" | cut -f1)
echo "checkpoint of $ITEMS items with snapshot upload: $(echo "$t1 - $t0" | bc) s; container grew by $(( (after - before) / 1048576 )) MiB (Azurite's files)"
node "$BENCH_DIR/ddbctl.js" load "$HOST_URL" bench "$ITEMS" "$(( ITEMS + LOG_ITEMS ))" 25 16 100 | tail -1

kill -KILL "$HOST_PID"; wait "$HOST_PID" 2>/dev/null || true; HOST_PID=""; rm -rf "$HOST_DATA" "$HOST_DATA.log"; HOST_DATA=""
sleep $(( Engine__Blob__LeaseSeconds + 1 )) # the killed owner's lease runs out
t0=$(now); HOST_START_TRIES=600 start_host; t1=$(now)
echo "fresh instance recovery ($ITEMS items in the snapshot + $LOG_ITEMS log records): $(echo "$t1 - $t0" | bc) s to serving"
grep -o 'store opened: .*' "$HOST_DATA.log" || true
node "$BENCH_DIR/ddbctl.js" count "$HOST_URL" bench
fi

echo "== PutItem with blob durability"
# Around the wrk runs (warm-up included): the change log's appends (/admin/metrics "BlobLog") and Azurite's CPU.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
blob_log() { curl -s "$HOST_URL/admin/metrics" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin).get("BlobLog", {})))'; }
m0=$(blob_log); az0=$(cpu_ticks "$AZPID"); host0=$(cpu_ticks "$HOST_PID"); t0=$(now)
URL="$HOST_URL" SERVER_PID="$HOST_PID" SKIP_SETUP=1 NKEYS=100000 OPS=put DUR="${DUR:-10s}" CONNS="${CONNS:-1:1 2:16}" WARMUP=3s \
  REPEAT="${REPEAT:-1}" "$BENCH_DIR/run.sh" 2>&1 | grep -E 'RESULT|^r='
m1=$(blob_log); az1=$(cpu_ticks "$AZPID"); host1=$(cpu_ticks "$HOST_PID"); t1=$(now)
python3 - "$m0" "$m1" "$(( az1 - az0 ))" "$(( host1 - host0 ))" "$(echo "$t1 - $t0" | bc)" "$(getconf CLK_TCK)" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
az, host, wall, hz = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
d = {k: b[k] - a.get(k, 0) for k in b if k != "MaxAppendMicros"}
n = max(d.get("Appends", 0), 1); w = max(d.get("DurableWaits", 0), 1)
print(f"blob appends: {d.get('Appends', 0)} in {wall:.1f} s = {d.get('Appends', 0) / wall:.0f}/s; {d.get('AppendedBytes', 0) / n:.0f} B per append; "
      f"append latency mean {d.get('AppendMicros', 0) / n / 1000:.2f} ms (max {b.get('MaxAppendMicros', 0) / 1000:.1f} ms since start); "
      f"refused {d.get('RefusedAppends', 0)}, blobs created {d.get('BlobsCreated', 0)}, length reads {d.get('LengthReads', 0)}; "
      f"writers waited {d.get('DurableWaits', 0)} times, mean {d.get('DurableWaitMicros', 0) / w / 1000:.2f} ms")
print(f"cpu: azurite {az / hz / wall:.2f} cores = {az / hz * 1e6 / n:.0f} us per append; host {host / hz / wall:.2f} cores")
PY
[[ "${PUT_ONLY:-0}" == 1 ]] && exit 0

t0=$(now)
call RestoreTableToPointInTime '{"SourceTableName":"bench","TargetTableName":"restored","UseLatestRestorableTime":true}' > /dev/null
until call DescribeTable '{"TableName":"restored"}' | grep -q '"TableStatus":"ACTIVE"'; do sleep 0.2; done
t1=$(now)
echo "point-in-time restore of $(( ITEMS + LOG_ITEMS ))+ items: $(echo "$t1 - $t0" | bc) s to ACTIVE"
