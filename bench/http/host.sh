# host.sh: sourced by the HTTP bench scripts. Builds the local function host in Release once, and starts/stops it
# on a free loopback port with a temp data dir (or in memory with HOST_IN_MEMORY=1).
#   build_host                 dotnet build -c Release src/Host (skipped with NO_BUILD=1)
#   start_host                 sets HOST_URL, HOST_PID, HOST_DATA
#   stop_host                  SIGTERM (graceful: flush + checkpoint), then removes HOST_DATA
REPO_ROOT="${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
HOST_DLL="$REPO_ROOT/src/Host/bin/Release/net10.0/Serverless.Host.dll"

build_host() {
  if [[ "${NO_BUILD:-0}" != 1 ]]; then
    dotnet build -c Release "$REPO_ROOT/src/Host" -nologo -v q > /tmp/bench-host-build.log 2>&1 \
      || { cat /tmp/bench-host-build.log >&2; return 1; }
  fi
}

start_host() {
  HOST_DATA="$(mktemp -d /tmp/ddb-bench-data.XXXXXX)"
  local log="$HOST_DATA.log" args=(--host 127.0.0.1 --port 0)
  if [[ "${HOST_IN_MEMORY:-0}" == 1 ]]; then args+=(--in-memory); else args+=(--data-dir "$HOST_DATA"); fi
  # HOST_ARGS: more flags for the host, e.g. HOST_ARGS=--no-throttling to measure what enforcement costs.
  if [[ -n "${HOST_ARGS:-}" ]]; then read -ra extra <<< "$HOST_ARGS"; args+=("${extra[@]}"); fi
  (cd "$HOST_DATA" && exec dotnet "$HOST_DLL" "${args[@]}") > "$log" 2>&1 &
  HOST_PID=$!
  HOST_URL=""
  # HOST_START_TRIES: how many tenths of a second to wait for the host to listen (a loaded machine needs more).
  for _ in $(seq "${HOST_START_TRIES:-100}"); do
    HOST_URL=$(sed -n 's/^Now listening on: //p' "$log" | head -1)
    [[ -n "$HOST_URL" ]] && break
    kill -0 "$HOST_PID" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  [[ -n "$HOST_URL" ]] || { echo "host did not start; see $log" >&2; return 1; }
  echo "host pid=$HOST_PID url=$HOST_URL data=$HOST_DATA" >&2
}

stop_host() {
  if [[ -n "${HOST_PID:-}" ]] && kill -0 "$HOST_PID" 2>/dev/null; then
    kill -TERM "$HOST_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$HOST_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$HOST_PID" 2>/dev/null || true
  fi
  HOST_PID=""
  if [[ -n "${HOST_DATA:-}" ]]; then rm -rf "$HOST_DATA" "$HOST_DATA.log"; HOST_DATA=""; fi
}
