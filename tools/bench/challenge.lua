-- challenge.lua: wrk script of tools/bench/bench.  POSTs challenges for
-- the wallets of KEYS (wallets.mjs gen) in turn, in namespace NS, and
-- appends every answer's body to DIR/challenges-<thread>.txt, one a line,
-- for wallets.mjs sign.
--
--   wrk -t T ... -s challenge.lua URL -- KEYS NS DIR
local n = 0

function setup(thread)
	n = n + 1
	thread:set("id", n)
end

local addrs, i, ns, out = {}, 0, nil, nil

function init(args)
	for line in io.lines(args[1]) do
		addrs[#addrs + 1] = line:match("^(0x%x+)")
	end
	ns = args[2]
	out = assert(io.open(args[3] .. "/challenges-" .. id .. ".txt", "a"))
	out:setvbuf("line")
	i = id
end

function request()
	i = i % #addrs + 1
	return wrk.format("POST", nil, { ["Content-Type"] = "application/json" },
	    '{"wallet":"' .. addrs[i] .. '","namespace":"' .. ns .. '"}')
end

function response(status, headers, body)
	if status == 200 then
		out:write((body:gsub("\n", "")), "\n")
	end
end
