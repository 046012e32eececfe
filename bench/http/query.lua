-- query.lua: wrk script for Query load on a hash+range table loaded by qload.js.
-- Each request queries one random partition ("p%06d", pk = :p) with Limit LIMIT.
-- Environment: TABLE [qbench], NPART partitions [1000], LIMIT [10], POOL pre-generated requests per thread [10000].
-- Usage: LIMIT=10 wrk -t1 -c1 -d20s --latency -s query.lua http://127.0.0.1:8000/

local TABLE = os.getenv("TABLE") or "qbench"
local NPART = tonumber(os.getenv("NPART") or "1000")
local LIMIT = tonumber(os.getenv("LIMIT") or "10")
local POOL  = tonumber(os.getenv("POOL") or "10000")

local AUTH = "AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKEFAKE/20240101/us-east-1/dynamodb/aws4_request, "
          .. "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
          .. "Signature=0000000000000000000000000000000000000000000000000000000000000000"
local HEADERS = {
  ["Content-Type"]  = "application/x-amz-json-1.0",
  ["X-Amz-Target"]  = "DynamoDB_20120810.Query",
  ["X-Amz-Date"]    = "20240101T000000Z",
  ["Authorization"] = AUTH,
}

local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local reqs, n, pos = {}, 0, 0

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  for j = 1, POOL do
    local body = string.format('{"TableName":"%s","KeyConditionExpression":"pk = :p",'
      .. '"ExpressionAttributeValues":{":p":{"S":"p%06d"}},"Limit":%d}', TABLE, math.random(0, NPART - 1), LIMIT)
    reqs[j] = wrk.format("POST", "/", HEADERS, body)
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
  io.write(string.format("RESULT op=query limit=%d requests=%d duration_s=%.2f rps=%.1f "
    .. "lat_us p50=%d p90=%d p99=%d p99.9=%d max=%d mean=%.1f errors connect=%d read=%d write=%d status=%d timeout=%d\n",
    LIMIT, summary.requests, s, summary.requests / s,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
end
