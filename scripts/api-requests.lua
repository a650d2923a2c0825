-- wrk script for scripts/load-bench.sh (LOAD_API=1): POST /api/v1/requests, every call asking
-- for another group, so that each creates a request (ids from the file GROUP_IDS, one per line;
-- the token in TOKEN; WRK_THREADS the number of wrk threads).
local ids = {}
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("GROUP_IDS")) do
    ids[#ids + 1] = line
  end
  nthreads = tonumber(os.getenv("WRK_THREADS"))
  headers = {
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
    ["Content-Type"] = "application/json",
  }
end

function request()
  counter = counter + 1
  local i = (counter * nthreads + tid) % #ids + 1
  local body = '{"group_id":"' .. ids[i] .. '","reason":"load test","duration":"1h"}'
  return wrk.format("POST", "/api/v1/requests", headers, body)
end
