-- edge_wrk.lua - wrk request mix for tests/bench/bench_edge.sh.
-- Requests are built in init() (built elsewhere, wrk sends no Host header).
-- Mode "check" (default): /v1/check for 1000 different device ids and binary
-- versions; one in five devices runs an old release (answer: 200 + the signed
-- manifest), the others are up to date (answer: 204). Mode "static": the
-- manifest file itself, for nginx.
local reqs = {}
local i = 0

function init(args)
    local mode = args[1] or "check"
    for n = 1, 1000 do
        local path
        if mode == "static" then
            path = "/production.json"
        else
            local rel = (n % 5 == 0) and "r1" or "r4"
            path = string.format(
                "/v1/check?app=demo&platform=android&channel=production&binary_version=2.1.%d&device=device-%06d&release=%s",
                n % 7, (n * 7919) % 1000000, rel)
        end
        reqs[n] = wrk.format("GET", path)
    end
end

function request()
    i = i % #reqs + 1
    return reqs[i]
end
