-- POST /allocate of one SKU (HOT_SKU) with a unique order id: every request contends for one product.
local sku = os.getenv("HOT_SKU") or "hot-sku"
local run = os.getenv("RUN") or tostring(os.time())
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  counter = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  wrk.body = string.format('{"orderid":"%s-%d-%d","sku":"%s","qty":1}', run, tid, counter, sku)
  return wrk.format(nil, "/allocate")
end
