#!/usr/bin/env bash
# Ingest benchmark (issue 3, item 9): the same survey GeoPackage loaded by `onemap ingest`, by
# `ogr2ogr -f PostgreSQL --config PG_USE_COPY YES -gt 65536`, and by the raw limit (binary COPY
# of the very rows onemap stored, pre-encoded in a file, plus the index builds), each several
# times into a fresh database; medians, ratios and peak client memory replace the "Ingest of one
# survey year" section of BENCHMARKS.md (the other sections are left as they are).
#
#   ONEMAP_BENCH_ADMIN_URL=postgresql://user:pw@host:port/postgres benches/ingest.sh [PARCELS] [RUNS]
#
# PARCELS defaults to 1000000 (the demo generator's largest survey year), RUNS to 3. The admin
# URL must be allowed to create databases (scratch ones named onemap_bench_*, dropped at the
# end). Needs: cargo, psql, ogr2ogr (Debian gdal-bin), /usr/bin/time (Debian time).
# Work files live in ${ONEMAP_BENCH_DIR:-/var/tmp/onemap-bench} (about 250 MB per 1M parcels for
# the GeoPackage, kept, and 380 MB for the raw rows, removed at the end); the databases need
# about 1 GB at a time.
set -euo pipefail

PARCELS=${1:-1000000}
RUNS=${2:-3}
ADMIN=${ONEMAP_BENCH_ADMIN_URL:?set ONEMAP_BENCH_ADMIN_URL to an admin connection URL ending in /postgres}
WORK=${ONEMAP_BENCH_DIR:-/var/tmp/onemap-bench}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$WORK"

for tool in psql ogr2ogr /usr/bin/time cargo; do
    command -v "$tool" >/dev/null || { echo "benches/ingest.sh needs $tool" >&2; exit 1; }
done

url_for() { echo "${ADMIN%/*}/$1"; }
fresh_db() {
    psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null
}
drop_db() { psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null; }

# ONEMAP_BIN: a release build to use instead of building one now.
if [[ -n "${ONEMAP_BIN:-}" ]]; then
    ONEMAP=$ONEMAP_BIN
else
    echo "building onemap (release)..."
    (cd "$ROOT" && cargo build --release -q -p onemap)
    ONEMAP="$CARGO_TARGET_DIR/release/onemap"
fi

# The data: the demo generator's 2019 survey year. `onemap demo` writes its files first and
# then loads them; we stop it as soon as the files are written.
GPKG="$WORK/demo-$PARCELS/dltb_2019.gpkg"
if [[ ! -s "$GPKG" ]]; then
    echo "generating $PARCELS parcels per year with onemap demo..."
    fresh_db onemap_bench_gen
    DATABASE_URL=$(url_for onemap_bench_gen) "$ONEMAP" demo --no-serve --parcels "$PARCELS" \
        --out "$WORK/demo-$PARCELS" >"$WORK/gen.log" 2>&1 &
    gen=$!
    until grep -q '^generated' "$WORK/gen.log" 2>/dev/null; do
        kill -0 "$gen" 2>/dev/null || { cat "$WORK/gen.log" >&2; exit 1; }
        sleep 1
    done
    kill "$gen"; wait "$gen" 2>/dev/null || true
    drop_db onemap_bench_gen
    rm -f "$WORK/demo-$PARCELS"/dltb_202*.gpkg
fi
FEATURES=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM DLTB').fetchone()[0])" "$GPKG")
echo "$GPKG: $FEATURES polygons, $(du -m "$GPKG" | cut -f1) MB"

# `/usr/bin/time -v CMD` → "seconds kbytes" on fd 3.
timed() {
    local log="$WORK/time.log"
    /usr/bin/time -v -o "$log" "$@" >"$WORK/cmd.log" 2>&1 || { cat "$WORK/cmd.log" "$log" >&2; exit 1; }
    python3 - "$log" >&3 <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
w = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
secs = int(w.group(1) or 0) * 3600 + int(w.group(2)) * 60 + float(w.group(3))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
print(f"{secs:.2f} {rss}")
EOF
}

declare -a T_ONEMAP T_OGR T_RAW M_ONEMAP M_OGR M_RAW LOADS
# The rows onemap stored (all six columns, Web-Mercator copy and area included), dumped once
# and removed at the end.
RAWFILE="$WORK/rows-$PARCELS.copy"
rm -f "$RAWFILE"
trap 'rm -f "$RAWFILE"' EXIT
# Each database is dropped as soon as it is measured: a 1M-parcel load takes about 1 GB.
for run in $(seq 1 "$RUNS"); do
    echo "run $run/$RUNS"
    LOADS+=("$(cut -d' ' -f1 /proc/loadavg)")
    # onemap ingest, into a freshly migrated database (migration itself not timed).
    fresh_db onemap_bench_onemap
    DATABASE_URL=$(url_for onemap_bench_onemap) "$ONEMAP" migrate >/dev/null
    read -r t m < <(exec 3>&1; DATABASE_URL=$(url_for onemap_bench_onemap) timed "$ONEMAP" ingest "$GPKG" \
        --layer dltb --department zrzy --year 2019)
    : "${t:?the onemap ingest measurement failed}"; T_ONEMAP+=("$t"); M_ONEMAP+=("$m"); echo "  onemap ingest  $t s  $((m / 1024)) MB"
    if [[ ! -s "$RAWFILE" ]]; then
        psql -q "$(url_for onemap_bench_onemap)" -c "\\copy (SELECT version_id, fid, props, geom, geom_3857, area_m2 FROM onemap.features) TO '$RAWFILE' (FORMAT binary)"
    fi
    drop_db onemap_bench_onemap

    # ogr2ogr as the issue specifies (its default GiST index is created before the rows).
    fresh_db onemap_bench_ogr
    psql -q "$(url_for onemap_bench_ogr)" -c "CREATE EXTENSION postgis" >/dev/null
    read -r t m < <(exec 3>&1; timed ogr2ogr -f PostgreSQL "PG:$(url_for onemap_bench_ogr)" "$GPKG" \
        --config PG_USE_COPY YES -gt 65536 -nln dltb)
    : "${t:?the ogr2ogr measurement failed}"; T_OGR+=("$t"); M_OGR+=("$m"); echo "  ogr2ogr        $t s  $((m / 1024)) MB"
    drop_db onemap_bench_ogr

    # The raw limit: the very rows onemap stored, pre-encoded, into a plain table of the same
    # columns, then the same two indexes onemap builds.
    fresh_db onemap_bench_raw
    psql -q "$(url_for onemap_bench_raw)" -c "CREATE EXTENSION postgis" \
        -c "CREATE TABLE raw (version_id bigint NOT NULL, fid bigint NOT NULL, props jsonb NOT NULL, geom geometry NOT NULL, geom_3857 geometry, area_m2 double precision)" >/dev/null
    read -r t m < <(exec 3>&1; timed psql -q -v ON_ERROR_STOP=1 "$(url_for onemap_bench_raw)" \
        -c "\\copy raw FROM '$RAWFILE' (FORMAT binary)" \
        -c "CREATE INDEX ON raw USING gist (geom_3857)" \
        -c "CREATE UNIQUE INDEX ON raw (version_id, fid)")
    : "${t:?the raw COPY measurement failed}"; T_RAW+=("$t"); M_RAW+=("$m"); echo "  raw COPY       $t s  $((m / 1024)) MB"
    drop_db onemap_bench_raw
done

# The COPY streams onemap uses (as ParallelCopy::from_env chooses them), for the prose.
STREAMS=${ONEMAP_INGEST_STREAMS:-$(python3 -c "import os; print(min(max(os.cpu_count(), 2), 8))")}
python3 - "$ROOT/BENCHMARKS.md" "$PARCELS" "$FEATURES" "$(du -m "$GPKG" | cut -f1)" "$RUNS" \
    "${T_ONEMAP[*]}" "${M_ONEMAP[*]}" "${T_OGR[*]}" "${M_OGR[*]}" "${T_RAW[*]}" "${M_RAW[*]}" \
    "$STREAMS" "${LOADS[*]}" <<'EOF'
import datetime, os, platform, re, statistics, subprocess, sys
out, parcels, features, mb, runs = sys.argv[1:6]
series = sys.argv[6:12]
streams, loads = sys.argv[12], sys.argv[13]
def nums(s): return [float(x) for x in s.split()]
rows = [
    ("onemap ingest", nums(series[0]), nums(series[1])),
    ("ogr2ogr (PG_USE_COPY, -gt 65536)", nums(series[2]), nums(series[3])),
    ("raw binary COPY of onemap's rows + the same two indexes", nums(series[4]), nums(series[5])),
]
med = [statistics.median(t) for _, t, _ in rows]
def pg_version():
    try:
        return subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    except Exception:
        return "?"
lines = [
    "## Ingest of one survey year (issue 3, item 9)",
    "",
    f"The demo generator's 2019 survey year: {int(features):,} polygons, SRID 4490, a {mb} MB "
    f"GeoPackage. Medians of {runs} runs, each into a fresh database; wall time of the whole "
    "command; peak memory is the client process's maximum resident set (`/usr/bin/time -v`), "
    "not the PostgreSQL server's. The three loaders run one after another within each run.",
    "",
    "| loader | median wall (s) | runs (s) | × ogr2ogr | × raw COPY | peak client memory (MB) |",
    "|---|---:|---|---:|---:|---:|",
]
for (name, t, m), md in zip(rows, med):
    lines.append(
        f"| {name} | {md:.1f} | {' '.join(f'{x:.1f}' for x in t)} | {md / med[1]:.2f} | "
        f"{md / med[2]:.2f} | {max(m) / 1024:.0f} |"
    )
goal = lambda ok: "met" if ok else "**not met**"
lines += [
    "",
    "Goals from the issue: onemap ≤ 0.5 × ogr2ogr's wall time "
    f"({med[0] / med[1]:.2f}: {goal(med[0] <= 0.5 * med[1])}); within 1.5 × raw COPY "
    f"({med[0] / med[2]:.2f}: {goal(med[0] <= 1.5 * med[2])}); "
    f"peak memory < 300 MB ({max(rows[0][2]) / 1024:.0f} MB: {goal(max(rows[0][2]) < 300 * 1024)}).",
    "",
    "What each loader does, so the ratios can be read fairly:",
    "",
    "- **onemap ingest**: reads the GeoPackage and encodes binary COPY rows on a reader thread; "
    "worker threads (one per core) add each row's Web-Mercator copy `geom_3857` and geodesic "
    "area `area_m2` (GeographicLib on WGS 84, the algorithm of PostGIS's `ST_Area(geography)`); "
    f"the rows go over {streams} COPY streams (one connection each, `synchronous_commit = off` "
    "for those sessions only) into a staging table committed beforehand, unattached and with no "
    "grant to readers; the GiST index on `geom_3857` and the unique `(version_id, fid)` index "
    "are then built at the same time on two connections (the extent is computed after the "
    "second); the publishing transaction, open from the start and holding the layer's lock, "
    "checks the geometries the client could not prove valid (`ST_IsValid`), attaches the table "
    "and records the version. The process also checks the catalog and migrations at start and, "
    "this being a land-use layer, precomputes its trend summaries after the publication "
    "(issue 4).",
    "- **ogr2ogr**: creates the table and its GiST index, then COPYs geometry and typed columns; "
    "no Web-Mercator copy, no area, no validity scan.",
    "- **raw COPY**: `\\copy` of the rows onemap stored (all six columns, dumped once with "
    "`COPY … TO … (FORMAT binary)`) into a plain table, then GiST on `geom_3857` and the "
    "unique `(version_id, fid)` index: the floor for moving these bytes into PostGIS with "
    "onemap's storage model.",
    "",
    f"Machine: {os.cpu_count()} cores, {platform.platform()}, {pg_version()} (client); "
    f"server as given by the admin URL. Run on {datetime.date.today().isoformat()}. "
    f"One-minute load average at the start of each run: {loads}.",
    "",
    "Reproduce (builds onemap in release mode, generates the file with `onemap demo`, needs "
    "`psql`, `ogr2ogr` from Debian `gdal-bin` and `/usr/bin/time` from Debian `time`; "
    "rewrites only this section of BENCHMARKS.md):",
    "",
    "```sh",
    f"ONEMAP_BENCH_ADMIN_URL=postgresql://USER:PASSWORD@HOST:PORT/postgres benches/ingest.sh {parcels} {runs}",
    "```",
    "",
]
section = "\n".join(lines)
text = open(out).read() if os.path.exists(out) else "# Benchmarks\n"
m = re.search(r"^## Ingest of one survey year \(issue 3, item 9\)\n.*?(?=^## |\Z)", text, re.M | re.S)
text = text[:m.start()] + section + "\n" + text[m.end():] if m else text.rstrip("\n") + "\n\n" + section
open(out, "w").write(text)
print(section)
EOF
