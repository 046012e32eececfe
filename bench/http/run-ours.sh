#!/usr/bin/env bash
# run-ours.sh: the shared side-by-side HTTP benchmark (PutItem / GetItem / mix with wrk) against our local host.
# Builds src/Host in Release, starts it on a free loopback port with a temp data dir (durable, default change-log
# sync), runs $BENCH_DIR/run.sh with URL and SERVER_PID set, and stops the host. Every knob of run.sh passes
# through (DUR, REPEAT, OPS, CONNS, NKEYS, ...). Defaults here: DUR=20s REPEAT=3.
#   BENCH_DIR       the shared harness                               [<repo>/../shared/bench]
#   HOST_IN_MEMORY  1 = run the host with --in-memory                 [0]
#   NO_BUILD        1 = use the existing Release build               [0]
#   HOST_ARGS       more host flags, e.g. --no-throttling            []
# Example: bench/http/run-ours.sh            DUR=5s REPEAT=1 OPS=get bench/http/run-ours.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/host.sh"
BENCH_DIR="${BENCH_DIR:-$REPO_ROOT/../shared/bench}"
[[ -x "$BENCH_DIR/run.sh" ]] || { echo "no run.sh in $BENCH_DIR (set BENCH_DIR)" >&2; exit 1; }
command -v wrk > /dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }

build_host
trap stop_host EXIT
start_host
URL="$HOST_URL" SERVER_PID="$HOST_PID" DUR="${DUR:-20s}" REPEAT="${REPEAT:-3}" "$BENCH_DIR/run.sh"
