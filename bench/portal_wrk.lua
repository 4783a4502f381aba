-- wrk script for bench/portal.py: counts answers other than the expected status and prints
-- the figures as one JSON line (latencies in microseconds).
local expected = tonumber(os.getenv("TALLY_BENCH_EXPECTED_STATUS") or "200")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  unexpected = 0
end

function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local wrong = 0
  for _, thread in ipairs(threads) do
    wrong = wrong + thread:get("unexpected")
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50": %d, "p95": %d, "p99": %d, "unexpected": %d, ' ..
    '"socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), wrong,
    errors.connect + errors.read + errors.write + errors.timeout))
end
