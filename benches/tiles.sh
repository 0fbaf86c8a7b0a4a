#!/usr/bin/env bash
# Tile benchmark (issue 8): the same survey year of PARCELS parcels, stored in EPSG:4490 as the
# survey delivers it, served by stock martin 1.14 (from the table as ogr2ogr loads it) and by
# `onemap serve` (from `onemap ingest`), each loaded by wrk with one fixed list of tile URLs at
# z8-z14 (16 connections, RUNS runs, medians): martin without and with its cache, Onemap
# without (`--tile-cache-mb 0`) and with its cache; every run lasts SECONDS, a cached one
# after a first pass over the list has filled the cache. Then: tile sizes per zoom z0-z16 and the
# area per land class at z8 (issue 8, item 1); a new version published while both servers run
# (Onemap serves it at once, martin's cache does not); a 64-connection 60-second soak of Onemap
# with zero errors and its peak memory. Results go to the "Tiles (issue 8)" section of
# BENCHMARKS.md (other sections are left as they are).
#
#   ONEMAP_BENCH_ADMIN_URL=postgresql://user:pw@host:port/postgres benches/tiles.sh [PARCELS] [RUNS] [SECONDS]
#
# PARCELS defaults to 1000000, RUNS (wrk runs per server and mode) to 3, SECONDS (per run) to
# 30; ONEMAP_BENCH_MARTIN_UNCACHED_RUNS sets the runs of martin without cache alone (default
# RUNS: at 1 000 000 parcels it takes seconds per low-zoom tile). The admin URL must be
# allowed to create databases (scratch ones named
# onemap_bench_tiles_*, dropped at the end unless ONEMAP_BENCH_KEEP=1; with it a second run
# reuses the loaded databases). Stock martin is built once with `cargo install` into
# ${MARTIN_ROOT:-/var/cache/onemap/martin-1.14.0} (outside the repository). ONEMAP_BIN uses an
# onemap binary already built instead of `cargo build --release`. Needs cargo, psql, ogr2ogr
# (Debian gdal-bin), wrk (Debian wrk), curl, python3. Work files live in
# ${ONEMAP_BENCH_DIR:-/var/tmp/onemap-bench}.
set -euo pipefail

PARCELS=${1:-1000000}
RUNS=${2:-3}
SECONDS_PER_RUN=${3:-30}
# martin without cache takes minutes per pass at 1 000 000 parcels; fewer runs of it save time.
MARTIN_UNCACHED_RUNS=${ONEMAP_BENCH_MARTIN_UNCACHED_RUNS:-$RUNS}
ADMIN=${ONEMAP_BENCH_ADMIN_URL:?set ONEMAP_BENCH_ADMIN_URL to an admin connection URL ending in /postgres}
WORK=${ONEMAP_BENCH_DIR:-/var/tmp/onemap-bench}
MARTIN_ROOT=${MARTIN_ROOT:-/var/cache/onemap/martin-1.14.0}
ONEMAP_PORT=${ONEMAP_BENCH_PORT:-18481}
MARTIN_PORT=$((ONEMAP_PORT + 1))
MARTIN_PORT2=$((ONEMAP_PORT + 2))
POOL=16
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT="$WORK/tiles-$PARCELS"
mkdir -p "$OUT"
PY="python3 $ROOT/benches/tiles.py --work $OUT"

for tool in cargo psql ogr2ogr wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "benches/tiles.sh needs $tool" >&2; exit 1; }
done

url_for() { echo "${ADMIN%/*}/$1"; }
fresh_db() {
    psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null
}
drop_db() { psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null; }
MDB=onemap_bench_tiles_martin
ODB=onemap_bench_tiles_onemap
MURL=$(url_for $MDB)
OURL=$(url_for $ODB)

if [[ -n "${ONEMAP_BIN:-}" ]]; then
    ONEMAP=$ONEMAP_BIN
else
    echo "building onemap (release)..."
    (cd "$ROOT" && cargo build --release -q -p onemap)
    ONEMAP="$CARGO_TARGET_DIR/release/onemap"
fi
MARTIN="$MARTIN_ROOT/bin/martin"
if [[ ! -x "$MARTIN" ]]; then
    echo "building stock martin 1.14.0 into $MARTIN_ROOT (several minutes, once)..."
    cargo install martin --version 1.14.0 --locked --no-default-features --features postgres \
        --root "$MARTIN_ROOT"
fi
"$MARTIN" --version

# The data: the demo generator's 2019 survey year (as benches/ingest.sh makes it).
GPKG="$WORK/demo-$PARCELS/dltb_2019.gpkg"
if [[ ! -s "$GPKG" ]]; then
    echo "generating $PARCELS parcels per year with onemap demo..."
    fresh_db onemap_bench_tiles_gen
    DATABASE_URL=$(url_for onemap_bench_tiles_gen) "$ONEMAP" demo --no-serve --parcels "$PARCELS" \
        --out "$WORK/demo-$PARCELS" >"$OUT/gen.log" 2>&1 &
    gen=$!
    until grep -q '^generated' "$OUT/gen.log" 2>/dev/null; do
        kill -0 "$gen" 2>/dev/null || { cat "$OUT/gen.log" >&2; exit 1; }
        sleep 1
    done
    kill "$gen"; wait "$gen" 2>/dev/null || true
    drop_db onemap_bench_tiles_gen
    rm -f "$WORK/demo-$PARCELS"/dltb_202*.gpkg
fi
echo "$GPKG: $(du -m "$GPKG" | cut -f1) MB"

# martin's database: the table as ogr2ogr loads it, in the survey's EPSG:4490.
if [[ -z "${ONEMAP_BENCH_KEEP:-}" ]] || [[ "$(psql -Atq "$MURL" -c 'SELECT count(*) FROM dltb' 2>/dev/null)" == "" ]]; then
    echo "loading $MDB with ogr2ogr..."
    fresh_db $MDB
    psql -q "$MURL" -c "CREATE EXTENSION postgis" >/dev/null
    ogr2ogr -f PostgreSQL "PG:$MURL" "$GPKG" DLTB --config PG_USE_COPY YES -gt 65536 \
        -nln dltb -lco GEOMETRY_NAME=geom
    psql -q "$MURL" -c "VACUUM ANALYZE dltb"
fi
# Onemap's database: `onemap ingest` of the same file.
if [[ -z "${ONEMAP_BENCH_KEEP:-}" ]] || [[ "$(psql -Atq "$OURL" -c 'SELECT count(*) FROM onemap.layer_versions' 2>/dev/null)" != 1 ]]; then
    echo "loading $ODB with onemap ingest..."
    fresh_db $ODB
    DATABASE_URL=$OURL "$ONEMAP" ingest "$GPKG" --layer dltb --department zrzy --year 2019 \
        >"$OUT/ingest.log" 2>&1 || { cat "$OUT/ingest.log" >&2; exit 1; }
    psql -q "$OURL" -c "VACUUM ANALYZE"
fi

declare -a SERVERS=()
cleanup() { for p in "${SERVERS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_http() { # URL PID LOG
    for _ in $(seq 1 1800); do
        curl -sf -o /dev/null "$1" && return 0
        kill -0 "$2" 2>/dev/null || { cat "$3" >&2; exit 1; }
        sleep 1
    done
    echo "timed out waiting for $1" >&2; exit 1
}
start_martin() { # PORT CACHE_MB → $!
    "$MARTIN" --listen-addresses "127.0.0.1:$1" --cache-size "$2" --pool-size $POOL \
        --auto-bounds skip "$MURL" >"$OUT/martin-$1-$2.log" 2>&1 &
    SERVERS+=($!)
    MARTIN_PID=$!
    wait_http "http://127.0.0.1:$1/catalog" "$MARTIN_PID" "$OUT/martin-$1-$2.log"
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
start_onemap() { # CACHE_MB
    DATABASE_URL=$OURL "$ONEMAP" serve --listen "127.0.0.1:$ONEMAP_PORT" --pool-size $POOL \
        --tile-cache-mb "$1" >"$OUT/onemap-$1.log" 2>&1 &
    SERVERS+=($!)
    ONEMAP_PID=$!
    # It builds the low-zoom generalisation before it answers (once per version).
    wait_http "http://127.0.0.1:$ONEMAP_PORT/health" "$ONEMAP_PID" "$OUT/onemap-$1.log"
}
ONEMAP_BASE="http://127.0.0.1:$ONEMAP_PORT"
MARTIN_BASE="http://127.0.0.1:$MARTIN_PORT"

$PY lists --martin-db "$MURL"
rm -f "$OUT"/warm-*.json "$OUT"/load-*.json
UNCACHED="--seconds $SECONDS_PER_RUN --connections 16"
CACHED="--runs $RUNS --seconds $SECONDS_PER_RUN --connections 16"

echo "martin, cache off"
start_martin $MARTIN_PORT 0
$PY load --name martin-uncached --base "$MARTIN_BASE" --prefix /dltb $UNCACHED \
    --runs "$MARTIN_UNCACHED_RUNS"
stop $MARTIN_PID
# martin with its cache on: filling it takes one pass over the list, minutes at z8-z11, so it
# runs in the background while Onemap is measured (which only makes Onemap's numbers worse).
echo "martin, its cache on (512 MB): filling it in the background"
start_martin $MARTIN_PORT 512
MARTIN_CACHED_PID=$MARTIN_PID
$PY warm --name martin-cached --base "$MARTIN_BASE" --prefix /dltb >"$OUT/warm-martin.log" 2>&1 &
WARM=$!

echo "onemap, tile cache off"
start_onemap 0
$PY load --name onemap-uncached --base "$ONEMAP_BASE" --prefix /tiles/dltb $UNCACHED --runs "$RUNS"
echo "onemap tile sizes z0-z16"
$PY sizes --name onemap --base "$ONEMAP_BASE" --prefix /tiles/dltb
echo "area per class at z8"
$PY area --name onemap --base "$ONEMAP_BASE" --prefix /tiles/dltb --onemap-db "$OURL"
stop $ONEMAP_PID
echo "onemap, tile cache on (default size)"
start_onemap 256
$PY warm --name onemap-cached --base "$ONEMAP_BASE" --prefix /tiles/dltb
$PY load --name onemap-cached --base "$ONEMAP_BASE" --prefix /tiles/dltb $CACHED
echo "onemap soak: 64 connections, 60 s"
$PY soak --base "$ONEMAP_BASE" --prefix /tiles/dltb --connections 64 --seconds 60 --pid "$ONEMAP_PID"

echo "martin, its cache on: waiting for it to be filled"
wait $WARM || { cat "$OUT/warm-martin.log" >&2; exit 1; }
cat "$OUT/warm-martin.log"
$PY load --name martin-cached --base "$MARTIN_BASE" --prefix /dltb $CACHED

echo "a new version published while both serve"
start_martin $MARTIN_PORT2 0
$PY stale --martin-db "$MURL" --onemap-db "$OURL" --onemap "$ONEMAP_BASE" \
    --martin-cached "$MARTIN_BASE" --martin-uncached "http://127.0.0.1:$MARTIN_PORT2" \
    --onemap-bin "$ONEMAP" --gpkg "$GPKG"
cleanup

$PY report --benchmarks "$ROOT/BENCHMARKS.md" --parcels "$PARCELS" --runs "$RUNS" \
    --seconds "$SECONDS_PER_RUN" --martin-db "$MURL"
if [[ -z "${ONEMAP_BENCH_KEEP:-}" ]]; then
    drop_db $MDB
    drop_db $ODB
fi
