-- wrk script of the tile benchmark (benches/tiles.sh): requests the tile paths listed one per
-- line in the file named by $TILES_PATHS, in turn, thread k of $TILES_THREADS starting k/n of
-- the way down the list, with `Accept-Encoding: gzip` as browsers send it. Prints one JSON line
-- with the totals.

local paths = {}
for line in io.lines(os.getenv("TILES_PATHS")) do
    paths[#paths + 1] = line
end
local threads = tonumber(os.getenv("TILES_THREADS") or "1")

local started = 0

function setup(thread)
    thread:set("offset", math.floor(started * #paths / threads))
    started = started + 1
end

function init(args)
    i = offset or 0
end

function request()
    i = i % #paths + 1
    return wrk.format("GET", paths[i], { ["Accept-Encoding"] = "gzip" })
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        '{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
        '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
        summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
        e.status, e.timeout, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.max))
end
