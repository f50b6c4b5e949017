-- GET /allocations/{orderid} for random orders of the seeded history.
-- Environment: HISTORY (number of seeded earlier allocations).
local history = tonumber(os.getenv("HISTORY") or "10000")

function init(args)
  math.randomseed(os.time())
end

function request()
  return wrk.format("GET", "/allocations/hist-" .. math.random(0, history - 1))
end
