-- exchange.lua: wrk script of tools/bench/bench.  Each request spends the
-- next pre-minted install token of DIR/tokens-<thread>.txt (mint.lua) on
-- POST /v1/install-tokens/exchange; a thread with none left stops, so no
-- request ever repeats a token.
--
--   wrk -t T ... -s exchange.lua URL -- DIR
local n, threads = 0, {}

function setup(thread)
	n = n + 1
	thread:set("id", n)
	threads[n] = thread
end

-- A thread that ran out stopped early: the rate is then understated.
function done(summary, latency, requests)
	local out = 0
	for _, t in ipairs(threads) do
		if t:get("ran_out") then
			out = out + 1
		end
	end
	io.write(string.format("bench: threads that ran out: %d\n", out))
end

ran_out = false
local tokens, next, last = {}, 1, nil

function init(args)
	for line in io.lines(args[1] .. "/tokens-" .. id .. ".txt") do
		tokens[#tokens + 1] = line
	end
end

function request()
	local tok = tokens[next]
	if tok == nil then
		ran_out = true
		wrk.thread:stop()
		return last or wrk.format()
	end
	next = next + 1
	last = wrk.format("POST", nil, { ["Content-Type"] = "application/json" },
	    '{"token":"' .. tok .. '","daemon_id":"bench-' .. id .. '-' ..
	    next .. '"}')
	return last
end
