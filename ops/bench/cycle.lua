-- wrk script: cycle through pre-signed webhook requests, one "signature<TAB>token<TAB>body"
-- per line of the file given as the first argument. With n threads (second argument),
-- thread k takes lines k, k+n, k+2n... so no two threads send the same request.
-- done() prints one machine-readable line: BENCH_JSON {...}.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path, count = args[1], tonumber(args[2])
  signed, cursor = {}, 0
  local n = 0
  for line in io.lines(path) do
    if n % count == id then
      local signature, token, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      signed[#signed + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = signature,
        ["I-Twilio-Idempotency-Token"] = token,
      }, body)
    end
    n = n + 1
  end
end

function request()
  cursor = cursor % #signed + 1
  return signed[cursor]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "errors": %d,'
      .. ' "p50_us": %.1f, "p99_us": %.1f}\n',
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
