-- Written by `keelson bench`: after the run, wrk calls done() and this prints one line,
-- the marker then a JSON object with the totals, the errors and the latency percentiles (µs)
-- taken from wrk's own histogram.
local points = {1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100}

done = function(summary, latency, requests)
  local e = summary.errors
  local pct = {}
  for _, p in ipairs(points) do
    -- wrk's percentile(100) answers 0: the 100th percentile is the maximum.
    local v = p == 100 and latency.max or latency:percentile(p)
    pct[#pct + 1] = string.format('"%g":%d', p, v)
  end
  io.write(string.format(
    'KEELSON_WRK_JSON {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"max":%d,"mean":%.3f,"stdev":%.3f,"percentiles":{%s}}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.max, latency.mean, latency.stdev, table.concat(pct, ",")))
end
