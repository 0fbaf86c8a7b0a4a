"""Measures benches/trends.sh's queries: the precomputed trend API over HTTP (p50/p95 of N
requests on one keep-alive connection) and the on-the-fly SQL with psql (median of RUNS, each
cut off after ONEMAP_BENCH_FLY_TIMEOUT seconds when that is set), then writes the subsection
"### N parcels per year" of the "Trend queries (issue 4)" section of BENCHMARKS.md: a run at
another parcel count gets its own subsection; other subsections and sections are left as they
are."""
import argparse, datetime, http.client, json, os, platform, re, statistics, subprocess, time, urllib.parse

ap = argparse.ArgumentParser()
for a in ("base", "db", "parcels", "requests", "runs", "load-log", "benchmarks"):
    ap.add_argument("--" + a, required=True)
args = ap.parse_args()
HERE = os.path.dirname(os.path.abspath(__file__))
CORE = ("reserve_zones", "核心区", "the reserve's core zone")
STATION = ("station_jurisdictions", "大黄山自然保护站", "the Dahuangshan station's jurisdiction")


def vertices(zone_layer, zone):
    return subprocess.run(
        ["psql", "-Atq", args.db, "-v", f"zl={zone_layer}", "-v", f"z={zone}"],
        input="SELECT ST_NPoints(f.geom) FROM onemap.features f JOIN onemap.layer_versions v "
        "ON v.id = f.version_id JOIN onemap.layers l ON l.key = v.layer_key "
        "WHERE l.id = :'zl' AND f.props ->> 'name' = :'z' LIMIT 1",
        capture_output=True, text=True, check=True).stdout.strip()


def http_series(path, params, n):
    u = urllib.parse.urlparse(args.base)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    url = path + "?" + urllib.parse.urlencode(params)
    times = []
    for i in range(n + 3):  # three warm-up requests, not counted
        t = time.perf_counter()
        conn.request("GET", url)
        r = conn.getresponse()
        body = r.read()
        dt = (time.perf_counter() - t) * 1000
        if r.status != 200:
            raise SystemExit(f"{url}: HTTP {r.status}: {body[:300]!r}")
        if i >= 3:
            times.append(dt)
    times.sort()
    p = lambda q: times[min(len(times) - 1, int(round(q * (len(times) - 1))))]
    return p(0.5), p(0.95), len(body)


def http_post_series(path, params, body, n):
    """Like http_series, but POST with an ad-hoc zone as the GeoJSON body."""
    u = urllib.parse.urlparse(args.base)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    url = path + "?" + urllib.parse.urlencode(params)
    times = []
    for i in range(n + 3):
        t = time.perf_counter()
        conn.request("POST", url, body=body, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        answer = r.read()
        dt = (time.perf_counter() - t) * 1000
        if r.status != 200:
            raise SystemExit(f"POST {url}: HTTP {r.status}: {answer[:300]!r}")
        if i >= 3:
            times.append(dt)
    times.sort()
    p = lambda q: times[min(len(times) - 1, int(round(q * (len(times) - 1))))]
    return p(0.5), p(0.95)


def zone_geojson(zone_layer, zone, box_m=None):
    """A zone's polygon as GeoJSON in EPSG:4326 (what a client would POST); with box_m, instead
    a square of that side around a point inside it (a zone drawn on the map)."""
    geom = ("ST_Transform(ST_Expand(ST_Transform(ST_PointOnSurface(f.geom), 4543), :half), 4326)"
            if box_m else "ST_Transform(f.geom, 4326)")
    return subprocess.run(
        ["psql", "-Atq", args.db, "-v", f"zl={zone_layer}", "-v", f"z={zone}",
         "-v", f"half={(box_m or 0) / 2}"],
        input=f"SELECT ST_AsGeoJSON({geom}, 7) FROM onemap.features f JOIN onemap.layer_versions v "
        "ON v.id = f.version_id JOIN onemap.layers l ON l.key = v.layer_key "
        "WHERE l.id = :'zl' AND f.props ->> 'name' = :'z' LIMIT 1",
        capture_output=True, text=True, check=True).stdout.strip()


FLY_TIMEOUT = float(os.environ.get("ONEMAP_BENCH_FLY_TIMEOUT") or 0) or None
LOADS = {"http": [], "fly": []}


def load_sample(phase):
    LOADS[phase].append(os.getloadavg()[0])


def psql_runs(sql, variables, runs):
    """The median and the seconds of each run; a run cut off by the statement timeout counts
    as infinite (reported as "> ONEMAP_BENCH_FLY_TIMEOUT s")."""
    cmd = ["psql", "-q", "-v", "ON_ERROR_STOP=1", args.db, "-f", os.path.join(HERE, "sql", sql)]
    for k, v in variables.items():
        cmd[1:1] = ["-v", f"{k}={v}"]
    env = dict(os.environ)
    if FLY_TIMEOUT:
        env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + f" -c statement_timeout={int(FLY_TIMEOUT * 1000)}").strip()
    out = []
    for _ in range(runs):
        load_sample("fly")
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        dt = time.perf_counter() - t
        load_sample("fly")
        if r.returncode != 0:
            if FLY_TIMEOUT and "statement timeout" in r.stderr:
                dt = float("inf")
            else:
                raise SystemExit(f"{sql} failed: {r.stderr}")
        out.append(dt)
        print(f"  on the fly {sql}: {secs(dt)} s", flush=True)
    return statistics.median(out), out


def secs(x):
    return f"> {FLY_TIMEOUT:.0f}" if x == float("inf") else f"{x:.1f}"


def ratio(fly_s, p95_ms):
    r = fly_s * 1000 / p95_ms
    return f"> {FLY_TIMEOUT * 1000 / p95_ms:,.0f}×" if r == float("inf") else f"{r:,.0f}×"


def ratio_value(fly_s, p95_ms):
    """The ratio, or its lower bound when the on-the-fly query was cut off."""
    return (FLY_TIMEOUT if fly_s == float("inf") else fly_s) * 1000 / p95_ms


n, runs = int(args.requests), int(args.runs)
rows = []
for layer, zone, label in (CORE, STATION):
    load_sample("http")
    q = {"layer": "dltb", "zone_layer": layer, "zone": zone}
    a50, a95, _ = http_series("/api/trends/area", {**q, "from": 2019, "to": 2024}, n)
    t50, t95, _ = http_series("/api/trends/transitions", {**q, "from": 2023, "to": 2024}, n)
    print(f"{label}: area p50 {a50:.1f} ms p95 {a95:.1f} ms; transitions p50 {t50:.1f} ms p95 {t95:.1f} ms", flush=True)
    rows.append((label, layer, zone, vertices(layer, zone), a50, a95, t50, t95))

# Ad-hoc zones (POST with a GeoJSON body): nothing precomputed for them.
n_adhoc = min(n, 20)
adhoc_rows = []
for label, body in (
    ("the core zone's polygon, sent as an ad-hoc zone", zone_geojson(CORE[0], CORE[1])),
    ("a 5 km × 5 km square drawn inside the core zone", zone_geojson(CORE[0], CORE[1], 5000)),
):
    load_sample("http")
    nv = json.loads(body)["coordinates"]
    nv = sum(len(r) for r in (nv if json.loads(body)["type"] == "Polygon" else [r for p in nv for r in p]))
    a50, a95 = http_post_series("/api/trends/area", {"layer": "dltb", "from": 2019, "to": 2024}, body, n_adhoc)
    t50, t95 = http_post_series("/api/trends/transitions", {"layer": "dltb", "from": 2023, "to": 2024}, body, n_adhoc)
    c50, c95 = http_post_series("/api/changes", {"layer": "dltb", "from": 2023, "to": 2024}, body, n_adhoc)
    print(f"ad hoc, {label}: area p50 {a50:.1f} p95 {a95:.1f}; transitions p50 {t50:.1f} p95 {t95:.1f}; changes p50 {c50:.1f} p95 {c95:.1f} ms", flush=True)
    adhoc_rows.append((label, nv, a50, a95, t50, t95, c50, c95))

fly_area, fly_area_runs = psql_runs("trends_area_on_the_fly.sql", {"zone_layer": CORE[0], "zone": CORE[1]}, runs)
fly_tr, fly_tr_runs = psql_runs("trends_transitions_on_the_fly.sql",
                                {"zone_layer": CORE[0], "zone": CORE[1], "from_year": 2023, "to_year": 2024}, runs)

log = open(args.load_log).read()
pre_total = re.search(r"^trends dltb precomputed in ([\d.]+) s", log, re.M).group(1)
pre_years = re.findall(r"^trends dltb (\d{4}): areas for \d+ zone sets in ([\d.]+) s; (?:overlay with \d{4}: \d+ zone sets, (\d+) change parcels in ([\d.]+) s|first year)", log, re.M)
ingest = re.findall(r"^dltb (\d{4}): (\d+) of \d+ features published .* in ([\d.]+) s", log, re.M)

goal = lambda ok: "met" if ok else "**not met**"
core = rows[0]
parcels = int(args.parcels)
spaced = lambda x: f"{x:,}".replace(",", " ")
title = f"### {spaced(parcels)} parcels per year"
load_range = lambda xs: f"{min(xs):.1f}–{max(xs):.1f}" if xs else "not sampled"
timeout_note = (f"; each run cut off after {FLY_TIMEOUT:.0f} s (`ONEMAP_BENCH_FLY_TIMEOUT`), "
                "a cut-off run shown as \"> N\" and its ratio as the lower bound it proves"
                if FLY_TIMEOUT else "")
lines = [
    title,
    "",
    f"Six survey years (2019–2024) of {parcels:,} parcels each from `onemap demo` "
    f"({', '.join(f'{y}: {int(c):,}' for y, c, _ in ingest)} parcels), loaded and precomputed, "
    "then `onemap serve --no-warm-up` asked over HTTP from one keep-alive connection "
    f"({n} requests per query after 3 warm-up requests; wall time at the client, JSON bodies). "
    "Side by side, in the same run and the same database, the straightforward query that "
    "intersects the parcels with the zone on the fly (`benches/sql/trends_*_on_the_fly.sql`, "
    f"run with psql, median of {runs}{timeout_note}; its GiST prefilter on `geom_3857` is used). "
    f"Load average (1 min) when each HTTP series started: {load_range(LOADS['http'])}; "
    f"around the on-the-fly runs: {load_range(LOADS['fly'])}.",
    "",
    "| zone | vertices | area series p50 / p95 (ms) | transition matrix 2023→2024 p50 / p95 (ms) |",
    "|---|---:|---:|---:|",
]
for label, layer, zone, nv, a50, a95, t50, t95 in rows:
    lines.append(f"| {label} (`zone_layer={layer}&zone={zone}`) | {nv} | {a50:.1f} / {a95:.1f} | {t50:.1f} / {t95:.1f} |")
lines += [
    "",
    f"Ad-hoc zones, `POST` with the zone as a GeoJSON body in EPSG:4326 ({n_adhoc} requests per "
    "query after 3 warm-up requests): nothing is precomputed for such a zone, so each year's "
    "parcels are clipped to it on the fly (a parcel wholly inside counts with its stored area) "
    "and the precomputed change parcels are clipped to it for the matrix and the change list.",
    "",
    "| ad-hoc zone | vertices | area series 2019–2024 p50 / p95 (ms) | transition matrix 2023→2024 p50 / p95 (ms) | change parcels 2023→2024 p50 / p95 (ms) |",
    "|---|---:|---:|---:|---:|",
]
for label, nv, a50, a95, t50, t95, c50, c95 in adhoc_rows:
    lines.append(f"| {label} | {nv} | {a50:.1f} / {a95:.1f} | {t50:.1f} / {t95:.1f} | {c50:.1f} / {c95:.1f} |")
ra, rt = ratio_value(fly_area, core[5]), ratio_value(fly_tr, core[7])
lines += [
    "",
    f"| query, {core[0]} | precomputed p95 (ms) | on the fly, median (s) | runs (s) | on the fly ÷ precomputed p95 |",
    "|---|---:|---:|---|---:|",
    f"| area series 2019–2024 by class | {core[5]:.1f} | {secs(fly_area)} | {' '.join(secs(x) for x in fly_area_runs)} | {ratio(fly_area, core[5])} |",
    f"| transition matrix 2023→2024 | {core[7]:.1f} | {secs(fly_tr)} | {' '.join(secs(x) for x in fly_tr_runs)} | {ratio(fly_tr, core[7])} |",
    "",
    f"Goals from the issue: area p95 < 100 ms ({max(r[5] for r in rows):.1f} ms: {goal(max(r[5] for r in rows) < 100)}), "
    f"matrix p95 < 300 ms ({max(r[7] for r in rows):.1f} ms: {goal(max(r[7] for r in rows) < 300)}), each ≥ 50× "
    f"faster than on the fly ({ratio(fly_area, core[5])} and {ratio(fly_tr, core[7])}: "
    f"{goal(ra >= 50 and rt >= 50)}).",
    "",
    f"The price, paid once per survey year when it is loaded (`onemap demo`'s precompute of all six "
    f"years: {float(pre_total):.1f} s in all); per year, areas for every zoning layer and the "
    "overlay with the previous year:",
    "",
    "| year | areas (s) | overlay with the previous year (s) | change parcels |",
    "|---|---:|---:|---:|",
]
for y, a, c, t in pre_years:
    lines.append(f"| {y} | {float(a):.2f} | {float(t):.2f} | {c} |" if t else f"| {y} | {float(a):.2f} | (first year) | |")
env = f"ONEMAP_BENCH_FLY_TIMEOUT={FLY_TIMEOUT:.0f} " if FLY_TIMEOUT else ""
lines += [
    "",
    f"Machine: {os.cpu_count()} cores, {platform.platform()}; PostgreSQL as given by the admin URL, "
    f"shared with other work during the run. Run on {datetime.date.today().isoformat()}.",
    "",
    "```sh",
    f"{env}ONEMAP_BENCH_ADMIN_URL=postgresql://USER:PASSWORD@HOST:PORT/postgres benches/trends.sh {parcels} {n} {runs}",
    "```",
    "",
]
subsection = "\n".join(lines) + "\n"  # a blank line before whatever follows
SECTION = "## Trend queries (issue 4)"
text = open(args.benchmarks).read() if os.path.exists(args.benchmarks) else "# Benchmarks\n"
m = re.search(r"^## Trend queries \(issue 4\)\n.*?(?=^## |\Z)", text, re.M | re.S)
if not m:
    intro = (f"{SECTION}\n\n`benches/trends.sh PARCELS` loads six survey years of PARCELS parcels "
             "and measures the trend API against the on-the-fly query; each parcel count has "
             "its subsection below, replaced by the next run at that count.\n\n")
    text = text.rstrip("\n") + "\n\n" + intro + subsection
else:
    section = m.group(0)
    # The subsection runs to the next subsection (### ) or the end of the section.
    sm = re.search(rf"^{re.escape(title)}\n.*?(?=^### |\Z)", section, re.M | re.S)
    if sm:
        section = section[:sm.start()] + subsection + section[sm.end():]
    else:
        section = section.rstrip("\n") + "\n\n" + subsection
    text = text[:m.start()] + section + text[m.end():]
open(args.benchmarks, "w").write(text)
print(subsection)
