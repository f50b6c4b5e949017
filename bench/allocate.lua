-- POST /allocate with a unique order id and a random existing SKU, or always HOT_SKU when it is set.
-- Environment: SKUS (number of seeded SKUs), RUN (a prefix that keeps order ids unique across runs),
-- HOT_SKU (one SKU every request contends for; bench/hot-sku), TOKEN (a bearer token, unless authentication is off).
local skus = tonumber(os.getenv("SKUS") or "1000")
local hot = os.getenv("HOT_SKU")
local run = os.getenv("RUN") or tostring(os.time())
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  counter = 0
  math.randomseed(os.time() * 1000 + tid)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  -- A token with every scope (scripts/lib/bench-auth.sh), so the figures include authentication.
  if (os.getenv("TOKEN") or "") ~= "" then wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN") end
end

function request()
  counter = counter + 1
  local sku = hot or string.format("sku-%06d", math.random(0, skus - 1))
  wrk.body = string.format('{"orderid":"%s-%d-%d","sku":"%s","qty":1}', run, tid, counter, sku)
  return wrk.format(nil, "/allocate")
end
