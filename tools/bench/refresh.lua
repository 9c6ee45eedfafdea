-- refresh.lua: wrk script of tools/bench/bench.  POST /v1/auth/refresh
-- with the refresh tokens of DIR/refresh-<thread>.txt (verify.lua): each
-- request spends the oldest token not yet sent, each answer's new token
-- joins the end of the queue, so no token is ever presented twice (that
-- would be reuse and revoke its family).  A thread whose queue is empty
-- stops.
--
--   wrk -t T ... -s refresh.lua URL -- DIR
local n = 0

function setup(thread)
	n = n + 1
	thread:set("id", n)
end

local q, head, tail, last = {}, 1, 0, nil

function init(args)
	for line in io.lines(args[1] .. "/refresh-" .. id .. ".txt") do
		tail = tail + 1
		q[tail] = line
	end
end

function request()
	if head > tail then
		wrk.thread:stop()
		return last or wrk.format()
	end
	local rt = q[head]
	q[head] = nil
	head = head + 1
	last = wrk.format("POST", nil, { ["Content-Type"] = "application/json" },
	    '{"refresh_token":"' .. rt .. '"}')
	return last
end

function response(status, headers, body)
	local rt = body:match('"refresh_token":"([^"]+)"')
	if rt then
		tail = tail + 1
		q[tail] = rt
	end
end
