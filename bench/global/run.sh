#!/usr/bin/env bash
# Runs the global tables benchmark: builds the host and the benchmark (Release), starts one host serving us-east-1
# and eu-west-1 (--regions) on a free loopback port with a fresh data directory, runs the benchmark and stops the
# host. Pass --azurite to replicate through Azurite queues (from ../../.tools/azurite, installed by the integration
# tests; the store then lives in Azurite's blob storage too) instead of the in-process queue, or --azurite-queues for
# the Azurite queues with the store in the data directory (Engine__Blob__FromFunctionsStorage=false: the replication
# path alone, without blob durability's cost). Other arguments go to the benchmark (--rate, --seconds, --fill).
# HOST_LOG=FILE keeps a copy of the host's log.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
azurite=""
if [ "${1:-}" = "--azurite" ]; then azurite=1; shift
elif [ "${1:-}" = "--azurite-queues" ]; then azurite=1; export Engine__Blob__FromFunctionsStorage=false; shift; fi
dotnet build "$root/src/Host" -c Release -v q --nologo >/dev/null
dotnet build -c Release -v q --nologo >/dev/null
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ -n "${HOST_LOG:-}" ]; then cp "$work/host.log" "$HOST_LOG"; fi
  rm -rf "$work"
}
trap cleanup EXIT
export LocalHost__Regions=us-east-1,eu-west-1
if [ -n "$azurite" ]; then
  qport=$(free_port); bport=$(free_port)
  node "$root/.tools/azurite/node_modules/azurite/dist/src/azurite.js" --silent --disableTelemetry --skipApiVersionCheck \
    --location "$work/azurite" --blobHost 127.0.0.1 --queueHost 127.0.0.1 --blobPort "$bport" --queuePort "$qport" &
  pids+=($!)
  key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
  export AzureWebJobsStorage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$bport/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$qport/devstoreaccount1;"
  for _ in $(seq 150); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $bport), 1); socket.create_connection(('127.0.0.1', $qport), 1)" 2>/dev/null && break; sleep 0.2; done
fi
(cd "$work" && exec dotnet "$root/src/Host/bin/Release/net10.0/Serverless.Host.dll" --port "$port" --data-dir "$work/data" >"$work/host.log" 2>&1) &
pids+=($!)
for _ in $(seq 150); do grep -q "Now listening" "$work/host.log" 2>/dev/null && break; sleep 0.2; done
grep "function GlobalTablesApply" "$work/host.log" || { cat "$work/host.log"; exit 1; }
dotnet bin/Release/net10.0/GlobalBench.dll --url "http://127.0.0.1:$port" "$@"
