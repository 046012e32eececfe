#!/usr/bin/env bash
# Runs the Kinesis destination benchmark: builds the host and the benchmark (Release), starts the host on a free
# loopback port with a fresh data directory, runs the benchmark (arguments pass through: --rate, --seconds, --shards),
# and stops the host.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
dotnet build "$root/src/Host" -c Release -v q --nologo >/dev/null
dotnet build -c Release -v q --nologo >/dev/null
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pid=""
cleanup() { [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; rm -rf "$work"; }
trap cleanup EXIT
(cd "$work" && exec dotnet "$root/src/Host/bin/Release/net10.0/Serverless.Host.dll" --port "$port" --data-dir "$work/data" >"$work/host.log" 2>&1) &
pid=$!
for _ in $(seq 100); do grep -q "Now listening" "$work/host.log" 2>/dev/null && break; sleep 0.2; done
grep -q "function KinesisDelivery" "$work/host.log" || { cat "$work/host.log"; exit 1; }
dotnet bin/Release/net10.0/KinesisBench.dll --url "http://127.0.0.1:$port" "$@"
echo "host peak RSS: $(grep VmHWM /proc/$pid/status 2>/dev/null || echo unknown)"
