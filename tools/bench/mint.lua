-- mint.lua: wrk script of tools/bench/bench.  POSTs to the URL given
-- (POST /v1/namespaces/NS/install-tokens, the caller's credential in a
-- -H header) and appends every token minted to DIR/tokens-<thread>.txt,
-- one a line, for exchange.lua to spend.
--
--   wrk -t T ... -s mint.lua URL -- DIR
local n = 0

function setup(thread)
	n = n + 1
	thread:set("id", n)
end

wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"

local out

function init(args)
	out = assert(io.open(args[1] .. "/tokens-" .. id .. ".txt", "a"))
	out:setvbuf("line")
end

function response(status, headers, body)
	if status == 201 or status == 200 then
		local tok = body:match('"token":"(mit_[0-9a-f]+)"')
		if tok then
			out:write(tok, "\n")
		end
	end
end
