-- cache.lua: wrk script for hot reads, sent either to the table ("/") or through a cache cluster ("/dax/<name>").
-- OP=get: GetItem of one of NKEYS keys ("k%07d" on table TABLE, hash key pk).
-- OP=query: Query of one of NPART partitions ("p%06d" on table QTABLE) with Limit LIMIT.
-- The path wrk is given selects table or cluster: wrk ... -s cache.lua http://127.0.0.1:8000/dax/bench
-- Environment: OP [get], TABLE [cbench], NKEYS [1000], QTABLE [qbench], NPART [100], LIMIT [10], POOL [10000].

local OP     = os.getenv("OP") or "get"
local TABLE  = os.getenv("TABLE") or "cbench"
local NKEYS  = tonumber(os.getenv("NKEYS") or "1000")
local QTABLE = os.getenv("QTABLE") or "qbench"
local NPART  = tonumber(os.getenv("NPART") or "100")
local LIMIT  = tonumber(os.getenv("LIMIT") or "10")
local POOL   = tonumber(os.getenv("POOL") or "10000")

local AUTH = "AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKEFAKE/20240101/us-east-1/dynamodb/aws4_request, "
          .. "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
          .. "Signature=0000000000000000000000000000000000000000000000000000000000000000"

local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local reqs, n, pos = {}, 0, 0

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  local path = wrk.path
  local target = OP == "query" and "DynamoDB_20120810.Query" or "DynamoDB_20120810.GetItem"
  local headers = {
    ["Content-Type"]  = "application/x-amz-json-1.0",
    ["X-Amz-Target"]  = target,
    ["X-Amz-Date"]    = "20240101T000000Z",
    ["Authorization"] = AUTH,
  }
  for j = 1, POOL do
    local body
    if OP == "query" then
      body = string.format('{"TableName":"%s","KeyConditionExpression":"pk = :p",'
        .. '"ExpressionAttributeValues":{":p":{"S":"p%06d"}},"Limit":%d}', QTABLE, math.random(0, NPART - 1), LIMIT)
    else
      body = string.format('{"TableName":"%s","Key":{"pk":{"S":"k%07d"}}}', TABLE, math.random(0, NKEYS - 1))
    end
    reqs[j] = wrk.format("POST", path, headers, body)
  end
  n = POOL
  pos = math.random(0, n - 1)
end

function request()
  pos = pos + 1
  if pos > n then pos = 1 end
  return reqs[pos]
end

function done(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format("RESULT op=%s requests=%d duration_s=%.2f rps=%.1f "
    .. "lat_us p50=%d p90=%d p99=%d max=%d errors connect=%d read=%d write=%d status=%d timeout=%d\n",
    OP, summary.requests, s, summary.requests / s,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
end
