-- signed.lua: wrk script that replays pre-signed raw requests written by signed_requests.py (REQS = the file).
-- Each wrk thread cycles through all of them from a random start. Prints one RESULT line like ../shared/bench/ddb.lua.
local REQS = os.getenv("REQS")
local reqs, n, pos = {}, 0, 0

function init(args)
  local f = assert(io.open(REQS, "rb"))
  local data = f:read("*a")
  f:close()
  local i = 1
  while i <= #data do
    local b1, b2, b3, b4 = data:byte(i, i + 3)
    local len = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
    n = n + 1
    reqs[n] = data:sub(i + 4, i + 3 + len)
    i = i + 4 + len
  end
  math.randomseed(os.time() + n)
  pos = math.random(0, n - 1)
end

function request()
  pos = pos + 1
  if pos > n then pos = 1 end
  return reqs[pos]
end

function done(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format("RESULT requests=%d duration_s=%.2f rps=%.1f lat_us p50=%d p90=%d p99=%d p99.9=%d max=%d "
    .. "errors connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, s, summary.requests / s,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
end
