-- wrk script for OAuth 2.0 client_credentials token requests (adapted from shared/bench/token.lua).
-- Configured by env (set by bench/run.mjs):
--   AUTH=basic|post|pkjwt  BASIC=<base64 of urlenc(id):urlenc(secret)>  CLIENT_ID_ENC  CLIENT_SECRET_ENC
--   SCOPE_ENC (urlencoded scope or empty)  ASSERTIONS=<file, one JWT per line> (pkjwt)  THREADS
-- pkjwt: every request carries the next unused assertion; each wrk thread takes a disjoint slice
-- of the file. Running out wraps around (re-sends used assertions, which the server must refuse)
-- and is reported as assertion_wraps.
local auth   = os.getenv("AUTH") or "basic"
local scope  = os.getenv("SCOPE_ENC") or ""
local base   = "grant_type=client_credentials" .. (scope ~= "" and ("&scope=" .. scope) or "")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"

if auth == "basic" then
  wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
  wrk.body = base
elseif auth == "post" then
  wrk.body = base .. "&client_id=" .. os.getenv("CLIENT_ID_ENC") .. "&client_secret=" .. os.getenv("CLIENT_SECRET_ENC")
end

local threads = {}
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local list, idx = nil, 0
wrapped = 0 -- global so done() can read it through thread:get
local prefix = base .. "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion="
function init(args)
  if auth ~= "pkjwt" then return end
  local n = tonumber(os.getenv("THREADS") or "1")
  local f = assert(io.open(os.getenv("ASSERTIONS"), "r"))
  list = {}
  local i = 0
  for line in f:lines() do
    if line ~= "" then
      if i % n == tid then list[#list + 1] = line end
      i = i + 1
    end
  end
  f:close()
  wrapped = 0
end

if auth == "pkjwt" then
  function request()
    idx = idx + 1
    if idx > #list then idx = 1; wrapped = wrapped + 1 end
    return wrk.format(nil, nil, nil, prefix .. list[idx])
  end
end

function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = w + (t:get("wrapped") or 0) end
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT secs=%.3f requests=%d non2xx=%d sock_err=%d timeouts=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f assertion_wraps=%d\n",
    secs, summary.requests, e.status, e.connect + e.read + e.write + e.timeout, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, w))
end
