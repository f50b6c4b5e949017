-- GET /allocations/{orderid} for random orders of the seeded history.
-- Environment: TOKEN (a bearer token, unless authentication is off), HISTORY (number of seeded earlier allocations).
local history = tonumber(os.getenv("HISTORY") or "10000")

function init(args)
  math.randomseed(os.time())
  -- A token with every scope (scripts/lib/bench-auth.sh), so the figures include authentication.
  if (os.getenv("TOKEN") or "") ~= "" then wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN") end
end

function request()
  return wrk.format("GET", "/allocations/hist-" .. math.random(0, history - 1))
end
