-- verify.lua: wrk script of tools/bench/bench.  Each request sends the
-- next pre-signed body of DIR/verify-<thread>.txt (wallets.mjs sign) to
-- POST /v1/auth/verify; a thread with none left stops, so no nonce is
-- sent twice.  The refresh tokens answered are appended to
-- DIR/refresh-<thread>.txt for refresh.lua.
--
--   wrk -t T ... -s verify.lua URL -- DIR
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
local bodies, next, last, out = {}, 1, nil, nil

function init(args)
	for line in io.lines(args[1] .. "/verify-" .. id .. ".txt") do
		bodies[#bodies + 1] = line
	end
	out = assert(io.open(args[1] .. "/refresh-" .. id .. ".txt", "a"))
	out:setvbuf("line")
end

function request()
	local b = bodies[next]
	if b == nil then
		ran_out = true
		wrk.thread:stop()
		return last or wrk.format()
	end
	next = next + 1
	last = wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, b)
	return last
end

function response(status, headers, body)
	local rt = body:match('"refresh_token":"([^"]+)"')
	if rt then
		out:write(rt, "\n")
	end
end
