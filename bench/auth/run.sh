#!/usr/bin/env bash
# run.sh: the cost of SigV4 verification and encryption at rest over HTTP. Runs the same signed PutItem/GetItem
# requests (signed_requests.py, replayed by wrk with signed.lua) against three hosts running side by side, on one
# data-directory store each, measured in turn (interleaved):
#   base     the build of $BASE_REF, before signature verification and encryption existed (both off)
#   noauth   this build with no keys (AcceptAny: verification off; encryption is always on)
#   verify   this build with a key (Auth__Mode=Verify: every signature checked; encryption on)
# and prints req/s, latency percentiles and server CPU per request for each. Knobs:
#   BASE_REF [43085fd]  DUR [10s]  REPEAT [2]  CONNS ["1:1 2:16"]  OPS ["put get"]  NKEYS [20000]  VALSIZE [100]
#   NO_BUILD=1 reuses the Release builds.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../http/host.sh"
BASE_REF="${BASE_REF:-43085fd}"
DUR="${DUR:-10s}"; REPEAT="${REPEAT:-2}"; CONNS="${CONNS:-1:1 2:16}"; OPS="${OPS:-put get}"
NKEYS="${NKEYS:-20000}"; VALSIZE="${VALSIZE:-100}"
OUT="${OUTDIR:-/tmp/bench-auth-$(date +%Y%m%d-%H%M%S)}"; mkdir -p "$OUT"
KEY=AKIABENCHBENCHBENCH0; SECRET=benchsecretbenchsecretbenchsecret0000000
PY=python3
HZ=$(getconf CLK_TCK)
BASE_SRC=/tmp/bench-auth-base-src
BASE_DLL="$BASE_SRC/src/Host/bin/Release/net10.0/Serverless.Host.dll"
CUR_DLL="$HOST_DLL"

if [[ "${NO_BUILD:-0}" != 1 ]]; then
  build_host
  if [[ ! -d "$BASE_SRC" ]]; then git -C "$REPO_ROOT" worktree add -f --detach "$BASE_SRC" "$BASE_REF" > /dev/null; fi
  git -C "$BASE_SRC" checkout -q --detach "$BASE_REF"
  dotnet build -c Release "$BASE_SRC/src/Host" -nologo -v q > "$OUT/base-build.log" 2>&1 || { cat "$OUT/base-build.log" >&2; exit 1; }
fi

# The three hosts run side by side, and each round measures them in turn, in an order that rotates from round to
# round (base noauth verify, noauth verify base, ...): drift in the machine's speed spreads over all three instead
# of landing on whichever ran last.
declare -A PIDS URLS DATAS
start() { # start NAME DLL ENV...
  local name=$1 dll=$2; shift 2
  local data; data="$(mktemp -d /tmp/ddb-bench-auth.XXXXXX)"
  (cd "$data" && exec env "$@" dotnet "$dll" --host 127.0.0.1 --port 0 --data-dir "$data/data") > "$data.log" 2>&1 &
  PIDS[$name]=$!; DATAS[$name]=$data
  local url=""
  for _ in $(seq 150); do
    url=$(sed -n 's/^Now listening on: //p' "$data.log" | head -1); [[ -n "$url" ]] && break
    kill -0 "${PIDS[$name]}" 2>/dev/null || { cat "$data.log" >&2; exit 1; }; sleep 0.1
  done
  [[ -n "$url" ]] || { echo "host $name did not start: $data.log" >&2; exit 1; }
  URLS[$name]=$url
}
stop_all() {
  for name in "${!PIDS[@]}"; do kill -TERM "${PIDS[$name]}" 2>/dev/null || true; wait "${PIDS[$name]}" 2>/dev/null || true; rm -rf "${DATAS[$name]}" "${DATAS[$name]}.log"; done
}
trap stop_all EXIT
jiffies() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12+$13}'; }

measure() { # measure NAME OP T C ROUND
  local name=$1 op=$2 t=$3 c=$4 r=$5 pid=${PIDS[$1]} f="$OUT/$1-$2-c$4-r$5.txt" s0 s1
  s0=$(jiffies "$pid")
  REQS="$OUT/$name-$op.reqs" wrk -t"$t" -c"$c" -d"$DUR" -s "$HERE/signed.lua" "${URLS[$name]}/" > "$f" 2>&1
  s1=$(jiffies "$pid")
  local req; req=$(grep -o 'requests=[0-9]*' "$f" | head -1 | cut -d= -f2)
  local non2xx; non2xx=$(awk '/Non-2xx/{print $NF}' "$f"); non2xx=${non2xx:-0}
  echo "$name r=$r op=$op c=$c $(grep '^RESULT' "$f" | sed 's/RESULT requests=[0-9]* duration_s=[0-9.]* //; s/ max=.*//') non2xx=$non2xx" \
       "server_us/req=$(awk -v s=$((s1-s0)) -v hz="$HZ" -v n="$req" 'BEGIN{printf "%.1f", (n>0 ? s/hz*1e6/n : 0)}')" | tee -a "$OUT/summary.txt"
}

echo "date: $(date -u +%FT%TZ) base=$BASE_REF head=$(git -C "$REPO_ROOT" rev-parse --short HEAD) loadavg: $(cat /proc/loadavg)" | tee "$OUT/summary.txt"
start base "$BASE_DLL" X=1
start noauth "$CUR_DLL" X=1
start verify "$CUR_DLL" Auth__Keys__0__AccessKeyId=$KEY Auth__Keys__0__SecretAccessKey=$SECRET \
  Auth__Keys__0__Principal=arn:aws:iam::000000000000:user/bench \
  'Auth__Keys__0__Policy={"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}'
CONFIGS=(base noauth verify)
for name in "${CONFIGS[@]}"; do
  $PY "$HERE/signed_requests.py" setup "${URLS[$name]}" "$KEY" "$SECRET" "$NKEYS" "$VALSIZE" > /dev/null
done
for r in $(seq "$REPEAT"); do
  for op in $OPS; do
    # Fresh signatures (X-Amz-Date within 15 minutes) for each host's URL.
    for name in "${CONFIGS[@]}"; do $PY "$HERE/signed_requests.py" gen "${URLS[$name]}" "$KEY" "$SECRET" "$op" "$NKEYS" "$VALSIZE" 20000 "$OUT/$name-$op.reqs"; done
    for tc in $CONNS; do
      for i in 0 1 2; do
        name=${CONFIGS[$(( (i + r - 1) % 3 ))]}
        measure "$name" "$op" "${tc%%:*}" "${tc##*:}" "$r"
      done
    done
  done
done
echo "raw outputs in $OUT"
