-- wrk at a fixed request rate, as wrk2 sends (wrk alone sends the next request as soon as an
-- answer comes, so its rate is whatever the service can take):
--   wrk -tT -cC -dD -s bench/peers/wrk-rate.lua URL -- RATE T
-- RATE is the requests a second of the whole run; each of the T threads sends RATE/T on a
-- schedule of its own: a request's time is the one before it plus T/RATE seconds, and a
-- connection free before that time waits for it (wrk's delay(), in whole milliseconds, so a
-- request may leave up to 1 ms early; the count per second is exact). The rate holds as long
-- as the C connections can carry it; a thread more than a second behind skips ahead rather
-- than catching up in a burst. CPU a request, read around such a run, compares systems at the
-- same load; wrk2's latency correction is not needed for that and is not done.
-- The figures are bench/peers/wrk-json.lua's (its done()).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } lab_rate_timespec;
int clock_gettime(int clock, lab_rate_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("lab_rate_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local interval_ms, next_ms

init = function(args)
  local rate, threads = tonumber(args[1]), tonumber(args[2])
  if not rate or rate <= 0 or not threads or threads < 1 then
    error("wrk-rate.lua: give the rate and the thread count: -- RATE THREADS")
  end
  interval_ms = 1000 * threads / rate
end

delay = function()
  local now = now_ms()
  if not next_ms or next_ms < now - 1000 then
    next_ms = now
  end
  local wait = next_ms - now
  next_ms = next_ms + interval_ms
  if wait < 0 then
    return 0
  end
  return wait
end

-- done(): the JSON line of wrk-json.lua, from this script's own folder.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk-json.lua")
