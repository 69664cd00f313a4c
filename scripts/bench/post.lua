-- wrk script: POSTs a chat completion (key in WRK_KEY, model in WRK_MODEL, WRK_STREAM=1 for SSE, the end user in
-- WRK_USER when set) and prints the
-- latency percentiles as JSON at the end. WRK_GET=1 sends plain GETs instead (the load generator's own ceiling).
-- Extra headers (e.g. Portkey's x-portkey-*) come from wrk's -H flags.
if os.getenv("WRK_GET") ~= "1" then
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  local key = os.getenv("WRK_KEY")
  if key and key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
  local model = os.getenv("WRK_MODEL") or "bench:bench-model"
  local stream = os.getenv("WRK_STREAM") == "1"
  local user = os.getenv("WRK_USER")
  wrk.body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"Say hello in five words."}],"max_tokens":16' .. (stream and ',"stream":true' or '') .. ((user and user ~= "") and (',"user":"' .. user .. '"') or '') .. '}'
end

done = function(summary, latency, requests)
  local non2xx = summary.errors.status or 0
  io.write(string.format('JSON{"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,"errors_timeout":%d,"non2xx":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.timeout, non2xx,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
