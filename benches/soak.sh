#!/usr/bin/env bash
# Soak of `onemap serve` (BENCHMARKS.md, "Tiles", "Soak"): wrk with 64 connections for a given
# time over many distinct tiles at z12-z16 (so the memory cache fills and evicts), the server's
# resident memory sampled every second from /proc/PID/status.
#
#   benches/soak.sh ONEMAP_BIN DATABASE_URL [SECONDS] [CACHE_MB] [LAYER] [W,S,E,N]
#
# DATABASE_URL holds a loaded Onemap database (e.g. from `onemap demo --database-url URL
# --parcels 100000 --no-serve`). Prints the RSS curve to soak-rss.tsv in the current folder and
# one summary line. Needs wrk (Debian `wrk`), python3 and curl.
set -euo pipefail
bin=$1
url=$2
seconds=${3:-60}
cache_mb=${4:-64}
layer=${5:-dltb}
bbox=${6:-100.75,37.93,101.64,38.92}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
server=""
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

python3 - "$bbox" "$layer" > "$work/paths" <<'PY'
import math, random, sys
w, s, e, n = map(float, sys.argv[1].split(","))
layer = sys.argv[2]
def tile(lon, lat, z):
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    return x, y
paths = []
for z, cap in [(12, None), (13, None), (14, 20000), (15, 30000), (16, 40000)]:
    x0, y0 = tile(w, n, z)
    x1, y1 = tile(e, s, z)
    zs = [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    random.Random(z).shuffle(zs)
    paths += [f"/tiles/{layer}/{z}/{x}/{y}" for x, y in zs[:cap]]
random.Random(1).shuffle(paths)
print("\n".join(paths))
PY
echo "$(wc -l < "$work/paths") distinct tile paths" >&2

"$bin" --data-dir "$work/data" serve --database-url "$url" --listen 127.0.0.1:0 --tile-cache-mb "$cache_mb" \
    > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 600); do
    grep -q "ready at" "$work/serve.log" && break
    sleep 0.5
done
base=$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -1)
rss() { awk '/^VmRSS/ {print int($2 / 1024)}' "/proc/$server/status"; }
echo "server at $base, RSS at start $(rss) MB" >&2
: > soak-rss.tsv
(
    t=0
    while kill -0 "$server" 2>/dev/null; do
        echo -e "$t\t$(rss)" >> soak-rss.tsv
        sleep 1
        t=$((t + 1))
    done
) &
sampler=$!
TILES_PATHS="$work/paths" TILES_THREADS=2 wrk -t2 -c64 -d"${seconds}s" --timeout 30s \
    -s "$here/tiles.lua" "$base" > "$work/wrk.out" 2>&1 || true
sleep 3
curl -s "$base/health" > "$work/health.json" || true
kill "$sampler" 2>/dev/null || true
hwm=$(awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$server/status")
python3 - "$work/wrk.out" soak-rss.tsv "$seconds" "$hwm" "$work/health.json" <<'PY'
import json, sys
wrk = [l for l in open(sys.argv[1]) if l.startswith("{")]
r = json.loads(wrk[-1]) if wrk else {}
rss = [(int(a), int(b)) for a, b in (l.split("\t") for l in open(sys.argv[2]) if l.strip())]
secs = int(sys.argv[3])
last = [m for t, m in rss if secs - 20 <= t <= secs]
errors = sum(r.get(k, 0) for k in ("connect", "read", "write", "status", "timeout"))
print(json.dumps({
    "requests": r.get("requests"), "tiles_per_s": round(r["requests"] / r["duration_us"] * 1e6, 1) if r else None,
    "p99_ms": r.get("p99_us", 0) / 1000, "errors": errors,
    "rss_start_mb": rss[0][1] if rss else None, "rss_peak_mb": max(m for _, m in rss) if rss else None,
    "rss_last20_min_mb": min(last) if last else None, "rss_last20_max_mb": max(last) if last else None,
    "rss_end_mb": rss[-1][1] if rss else None, "vmhwm_mb": int(sys.argv[4]),
}))
try:
    print(open(sys.argv[5]).read())
except OSError:
    pass
PY
