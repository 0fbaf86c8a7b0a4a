#!/usr/bin/env bash
# Trend-query benchmark (issue 4): six survey years of PARCELS parcels from `onemap demo`,
# loaded (and precomputed) into a scratch database, then `onemap serve` measured over HTTP for
# the area series and the transition matrix of a zone, side by side with the straightforward
# query that intersects the parcels with the zone on the fly (psql). p50/p95, medians, ratios
# and the precompute time go to the subsection "### PARCELS parcels per year" of the "Trend
# queries (issue 4)" section of BENCHMARKS.md (a run at another parcel count writes its own
# subsection; everything else is left as it is).
#
#   ONEMAP_BENCH_ADMIN_URL=postgresql://user:pw@host:port/postgres benches/trends.sh [PARCELS] [REQUESTS] [RUNS]
#
# PARCELS defaults to 200000 per survey year, REQUESTS (HTTP requests per query) to 50, RUNS
# (on-the-fly runs per query, median taken) to 3. The admin URL must be allowed to create
# databases: the scratch database onemap_bench_trends_PARCELS is kept, so that a second run
# measures again without loading again (ONEMAP_BENCH_RELOAD=1 loads afresh). ONEMAP_BIN uses
# an onemap binary already built instead of `cargo build --release`. Needs cargo, psql, curl,
# python3. Work files live in ${ONEMAP_BENCH_DIR:-/var/tmp/onemap-bench}.
# ONEMAP_BENCH_FLY_TIMEOUT=SECONDS cuts each on-the-fly run off after that long (a statement
# timeout; reported as "> SECONDS s" and the ratio as the lower bound it proves): with RUNS=1,
# for the 1 000 000-parcel run, whose on-the-fly matrix takes many minutes.
set -euo pipefail

PARCELS=${1:-200000}
REQUESTS=${2:-50}
RUNS=${3:-3}
ADMIN=${ONEMAP_BENCH_ADMIN_URL:?set ONEMAP_BENCH_ADMIN_URL to an admin connection URL ending in /postgres}
WORK=${ONEMAP_BENCH_DIR:-/var/tmp/onemap-bench}
PORT=${ONEMAP_BENCH_PORT:-18391}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$WORK"

for tool in psql curl python3; do
    command -v "$tool" >/dev/null || { echo "benches/trends.sh needs $tool" >&2; exit 1; }
done

if [[ -n "${ONEMAP_BIN:-}" ]]; then
    ONEMAP=$ONEMAP_BIN
else
    echo "building onemap (release)..."
    (cd "$ROOT" && cargo build --release -q -p onemap)
    ONEMAP="$CARGO_TARGET_DIR/release/onemap"
fi

DB=onemap_bench_trends_$PARCELS
URL="${ADMIN%/*}/$DB"
LOADLOG="$WORK/trends-load-$PARCELS.log"
loaded() {
    [[ -s "$LOADLOG" ]] && grep -q '^trends dltb precomputed in' "$LOADLOG" &&
        [[ "$(psql -Atq "$URL" -c "SELECT count(*) FROM onemap.layer_versions v JOIN onemap.layers l ON l.key = v.layer_key WHERE l.id = 'dltb'" 2>/dev/null)" == 6 ]]
}
if [[ -n "${ONEMAP_BENCH_RELOAD:-}" ]] || ! loaded; then
    echo "loading six survey years of $PARCELS parcels into $DB with onemap demo..."
    psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
    DATABASE_URL=$URL "$ONEMAP" demo --no-serve --parcels "$PARCELS" \
        --out "$WORK/trends-$PARCELS" >"$LOADLOG" 2>&1 || { cat "$LOADLOG" >&2; exit 1; }
fi
grep '^trends dltb\|^demo' "$LOADLOG"

echo "starting onemap serve on 127.0.0.1:$PORT..."
# --no-warm-up: the low-zoom land-use tiles (minutes to build at 200 000 parcels a year, about
# 20 at 1 000 000) are not what is measured here.
DATABASE_URL=$URL "$ONEMAP" serve --no-warm-up --listen "127.0.0.1:$PORT" >"$WORK/trends-serve.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 900); do
    curl -sf "http://127.0.0.1:$PORT/api/layers" >/dev/null 2>&1 && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/trends-serve.log" >&2; exit 1; }
    sleep 1
done

python3 "$ROOT/benches/trends.py" --base "http://127.0.0.1:$PORT" --db "$URL" \
    --parcels "$PARCELS" --requests "$REQUESTS" --runs "$RUNS" --load-log "$LOADLOG" \
    --benchmarks "$ROOT/BENCHMARKS.md"
