#!/usr/bin/env bash
# run.sh: what streams cost writers, and how fast TTL sweeps.
#  1. PutItem throughput and latency over HTTP (the shared wrk harness, SKIP_SETUP=1) on a table without a stream,
#     then on the same host on a table with a NEW_AND_OLD_IMAGES stream (streams read the change log, so writes do
#     the same work either way; this measures that).
#  2. TTL sweep rate: TTL_ITEMS expired items loaded, then one TtlSweep run (POST /admin/functions/TtlSweep), timed.
# Knobs: DUR (10s), CONNS ("1:1 2:16"), NKEYS (50000), TTL_ITEMS (50000), NO_BUILD, BENCH_DIR.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../http/host.sh"
BENCH_DIR="${BENCH_DIR:-$REPO_ROOT/../shared/bench}"
NKEYS="${NKEYS:-50000}"
TTL_ITEMS="${TTL_ITEMS:-50000}"
call() { # target json
  curl -s -X POST "$HOST_URL/" -H 'Content-Type: application/x-amz-json-1.0' -H "X-Amz-Target: DynamoDB_20120810.$1" \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIAFAKE/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00' -d "$2" > /dev/null
}
build_host
trap stop_host EXIT
start_host

for stream in off on; do
  node "$BENCH_DIR/ddbctl.js" delete "$HOST_URL" bench > /dev/null 2>&1 || true
  node "$BENCH_DIR/ddbctl.js" create "$HOST_URL" bench
  if [[ $stream == on ]]; then
    call UpdateTable '{"TableName":"bench","StreamSpecification":{"StreamEnabled":true,"StreamViewType":"NEW_AND_OLD_IMAGES"}}'
  fi
  node "$BENCH_DIR/ddbctl.js" load "$HOST_URL" bench 0 "$NKEYS" 25 16 100 | tail -1
  echo "== stream $stream"
  URL="$HOST_URL" SERVER_PID="$HOST_PID" SKIP_SETUP=1 NKEYS="$NKEYS" OPS=put DUR="${DUR:-10s}" CONNS="${CONNS:-1:1 2:16}" WARMUP=3s \
    "$BENCH_DIR/run.sh" 2>&1 | grep RESULT
done

call CreateTable '{"TableName":"ttlbench","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}'
call UpdateTimeToLive '{"TableName":"ttlbench","TimeToLiveSpecification":{"Enabled":true,"AttributeName":"exp"}}'
/usr/bin/python3 "$HERE/ttl_load.py" "$HOST_URL" ttlbench "$TTL_ITEMS"
start=$(date +%s.%N)
curl -s -X POST "$HOST_URL/admin/functions/TtlSweep" -o /dev/null -w '%{http_code}\n'
end=$(date +%s.%N)
left=$(node "$BENCH_DIR/ddbctl.js" count "$HOST_URL" ttlbench)
echo "TTL sweep: $TTL_ITEMS expired items in $(echo "$end - $start" | bc) s = $(echo "$TTL_ITEMS / ($end - $start)" | bc) items/s; items left: $left"
