-- wrk's figures as one JSON line after its own text (`wrk -s bench/peers/wrk-json.lua`), so
-- the bench reads numbers instead of parsing "4.54ms" or "1.20k". done() runs once, after
-- every thread; wrk gives latencies in microseconds and the duration in microseconds.
done = function(summary, latency, requests)
  local e = summary.errors
  local ms = function(us) return us / 1000.0 end
  io.write(string.format(
    '{"requests":%d,"duration_s":%.3f,"rps":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_ms":{"p50":%.3f,"p75":%.3f,"p90":%.3f,"p95":%.3f,"p99":%.3f,"max":%.3f,"mean":%.3f}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    e.connect, e.read, e.write, e.status, e.timeout,
    ms(latency:percentile(50)), ms(latency:percentile(75)), ms(latency:percentile(90)),
    ms(latency:percentile(95)), ms(latency:percentile(99)), ms(latency.max), ms(latency.mean)))
end
