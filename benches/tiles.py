#!/usr/bin/env python3
"""Measurements of the tile benchmark (issue 8), called step by step by benches/tiles.sh.

Steps (each reads and writes JSON files in the work folder given by --work):

  lists     sample parcel points from the martin database; write the fixed list of benchmark
            tiles (z8-z14, weighted to where parcels are) and the list of size-check tiles
            (every tile of the county at z0-z11, the tiles of sampled parcels at z12-z16)
  load      warm (optionally) and load one server with wrk, several runs: throughput, p50/p99
  sizes     fetch tiles and record their uncompressed and gzip sizes per zoom
  area      the area per land class drawn in the z8 tiles against the parcels' geodesic area
  stale     publish a new version while the servers run: Onemap serves it at once, martin's
            cache keeps the old tile
  soak      64 connections for 60 s with zero errors, the server's peak resident memory
  report    write the "Tiles (issue 8)" section of BENCHMARKS.md

Only the standard library; psql, wrk and the onemap binary are run as programs.
"""

import argparse
import concurrent.futures
import datetime
import gzip
import json
import math
import os
import platform
import random
import re
import sqlite3
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
EARTH = 40075016.685578488  # Web Mercator world width, metres
R = 6378137.0


# ---------------------------------------------------------------------------- tiles and lists

def tile_of(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def psql(url, sql):
    out = subprocess.run(["psql", "-Atq", "-F", "\t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def step_lists(a):
    rows = psql(a.martin_db, "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
                             "FROM dltb TABLESAMPLE BERNOULLI (0.3) REPEATABLE (8)) s")
    points = [(float(x), float(y)) for x, y in rows]
    (w, s, e, n), = [[float(v) for v in r] for r in psql(
        a.martin_db, "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) "
                     "FROM (SELECT ST_Extent(geom) AS b FROM dltb) t")]
    rng = random.Random(8)
    rng.shuffle(points)
    # Benchmark tiles: at each zoom the tiles of parcels taken in random order until PER_ZOOM
    # distinct ones are found, so dense areas are more likely (and all tiles of z8-z10).
    bench = []
    for z in range(8, 15):
        seen = []
        for lon, lat in points:
            t = tile_of(lon, lat, z)
            if t not in seen:
                seen.append(t)
            if len(seen) >= a.per_zoom:
                break
        bench += [(z, x, y) for x, y in seen]
    # Size check: every tile of the data's extent at z0-z11, every tile holding a sampled
    # parcel at z12-z16.
    sizes = []
    for z in range(0, 12):
        x0, y0 = tile_of(w, n, z)
        x1, y1 = tile_of(e, s, z)
        sizes += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    for z in range(12, 17):
        sizes += sorted({(z,) + tile_of(lon, lat, z) for lon, lat in points})
    json.dump({"points": len(points), "extent": [w, s, e, n], "bench": bench, "sizes": sizes},
              open(os.path.join(a.work, "lists.json"), "w"))
    by_zoom = {}
    for z, _, _ in bench:
        by_zoom[z] = by_zoom.get(z, 0) + 1
    print(f"{len(points)} sampled parcels; {len(bench)} benchmark tiles {by_zoom}; "
          f"{len(sizes)} size-check tiles")


def lists(a):
    return json.load(open(os.path.join(a.work, "lists.json")))


def paths(prefix, tiles):
    return [f"{prefix}/{z}/{x}/{y}" for z, x, y in tiles]


# ---------------------------------------------------------------------------- fetching

def fetch(url, accept_gzip=True, timeout=300):
    """(status, bytes on the wire, uncompressed body)."""
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if accept_gzip else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
            wire = len(body)
            if r.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return r.status, wire, body
    except urllib.error.HTTPError as e:
        return e.code, 0, b""


def fetch_all(base, tile_paths, workers=4, accept_gzip=True):
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda p: fetch(base + p, accept_gzip), tile_paths))


# ---------------------------------------------------------------------------- MVT decoding

def _varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def _fields(buf):
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(buf, i)
        elif wire == 2:
            ln, i = _varint(buf, i)
            v, i = buf[i:i + ln], i + ln
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield field, v


def _packed(buf):
    out, i = [], 0
    while i < len(buf):
        v, i = _varint(buf, i)
        out.append(v)
    return out


def _value(buf):
    import struct
    for f, v in _fields(buf):
        if f == 1:
            return bytes(v).decode()
        if f == 2:
            return struct.unpack("<f", v)[0]
        if f == 3:
            return struct.unpack("<d", v)[0]
        if f in (4, 5):
            return v
        if f == 6:
            return (v >> 1) ^ -(v & 1)
        if f == 7:
            return bool(v)
    return None


def decode(tile):
    """{layer: [(properties, type, rings)]} with rings as lists of (x, y) in tile units."""
    layers = {}
    for f, layer in _fields(tile):
        if f != 3:
            continue
        name, keys, values, feats, extent = "", [], [], [], 4096
        for lf, v in _fields(layer):
            if lf == 1:
                name = bytes(v).decode()
            elif lf == 3:
                keys.append(bytes(v).decode())
            elif lf == 4:
                values.append(_value(v))
            elif lf == 5:
                extent = v
            elif lf == 2:
                feats.append(v)
        out = []
        for feat in feats:
            tags, gtype, geom = [], 0, []
            for ff, v in _fields(feat):
                if ff == 2:
                    tags = _packed(v)
                elif ff == 3:
                    gtype = v
                elif ff == 4:
                    geom = _packed(v)
            props = {keys[tags[k]]: values[tags[k + 1]] for k in range(0, len(tags), 2)}
            rings, ring, x, y, i = [], [], 0, 0, 0
            while i < len(geom):
                cmd, count = geom[i] & 7, geom[i] >> 3
                i += 1
                if cmd == 7:
                    rings.append(ring)
                    ring = []
                    continue
                for _ in range(count):
                    dx, dy = geom[i], geom[i + 1]
                    i += 2
                    x += (dx >> 1) ^ -(dx & 1)
                    y += (dy >> 1) ^ -(dy & 1)
                    if cmd == 1 and ring:
                        rings.append(ring)
                        ring = []
                    ring.append((x, y))
            if ring:
                rings.append(ring)
            out.append((props, gtype, rings))
        layers[name] = (extent, out)
    return layers


def clip_ring(ring, lo, hi):
    """Sutherland-Hodgman clip of a ring to the square [lo, hi]²."""
    def clip(pts, inside, cut):
        out = []
        for k in range(len(pts)):
            p, q = pts[k - 1], pts[k]
            if inside(q):
                if not inside(p):
                    out.append(cut(p, q))
                out.append(q)
            elif inside(p):
                out.append(cut(p, q))
        return out

    def at_x(c):
        return lambda p, q: (c, p[1] + (q[1] - p[1]) * (c - p[0]) / (q[0] - p[0]))

    def at_y(c):
        return lambda p, q: (p[0] + (q[0] - p[0]) * (c - p[1]) / (q[1] - p[1]), c)

    pts = [(float(x), float(y)) for x, y in ring]
    for inside, cut in ((lambda p: p[0] >= lo, at_x(lo)), (lambda p: p[0] <= hi, at_x(hi)),
                        (lambda p: p[1] >= lo, at_y(lo)), (lambda p: p[1] <= hi, at_y(hi))):
        if not pts:
            break
        pts = clip(pts, inside, cut)
    return pts


def ring_area_m2(ring, z, x, y, extent):
    """Area on the ellipsoid of a ring in tile units (signed: exterior rings positive).

    Green's theorem on the Web Mercator plane with the sphere's area element: the area is the
    line integral of R·sin(lat(y)) dx; the sphere-to-ellipsoid factor M·N/a² is applied by the
    caller. Exact for the ring's straight Mercator edges up to the trapezoid rule."""
    unit = EARTH / 2 ** z / extent
    x0 = -EARTH / 2 + x * EARTH / 2 ** z
    y0 = EARTH / 2 - y * EARTH / 2 ** z

    def sin_lat(ty):
        my = y0 - ty * unit
        return math.tanh(my / R)

    total = 0.0
    for k in range(len(ring)):
        (ax, ay), (bx, by) = ring[k - 1], ring[k]
        total += (bx - ax) * unit * R * (sin_lat(ay) + sin_lat(by)) / 2
    return total  # tile y grows downwards: clockwise on screen (exterior) comes out positive


def ellipsoid_factor(lat):
    e2 = 0.00669438002290  # CGCS2000 and WGS 84 agree to 1e-10
    s2 = math.sin(math.radians(lat)) ** 2
    return (1 - e2) / (1 - e2 * s2) ** 2


# ---------------------------------------------------------------------------- steps

def run_wrk(base, path_file, connections, seconds, threads=2):
    env = dict(os.environ, TILES_PATHS=path_file, TILES_THREADS=str(threads))
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                          "--timeout", "300s", "-s", os.path.join(HERE, "tiles.lua"), base],
                         check=True, capture_output=True, text=True, env=env).stdout
    result = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    return result


def step_warm(a):
    """One pass over the benchmark list (fills a cache), recording each tile's size."""
    tiles = lists(a)["bench"]
    tile_paths = paths(a.prefix, tiles)
    started = time.monotonic()
    answers = fetch_all(a.base, tile_paths, workers=8)
    # martin answers 408 when a request waits too long for a busy worker: ask again, one at
    # a time, and count how often.
    retried = 0
    for k, (status, _, _) in enumerate(answers):
        for _ in range(5):
            if answers[k][0] in (200, 204):
                break
            retried += 1
            answers[k] = fetch(a.base + tile_paths[k])
    bad = [p for p, (st, _, _) in zip(tile_paths, answers) if st not in (200, 204)]
    if bad:
        sys.exit(f"{a.name}: {len(bad)} tiles failed while warming, e.g. {bad[0]}")
    record = {"warm_s": time.monotonic() - started, "warm_retries": retried,
              "sizes": [[z, wire, len(body)] for (z, _, _), (_, wire, body) in zip(tiles, answers)]}
    json.dump(record, open(os.path.join(a.work, f"warm-{a.name}.json"), "w"))
    print(f"  {a.name}: warmed {len(tile_paths)} tiles in {record['warm_s']:.1f} s")


def step_load(a):
    tiles = lists(a)["bench"]
    tile_paths = paths(a.prefix, tiles)
    # One fixed shuffled order (the same for every server), so that any stretch of the list
    # mixes the zooms.
    order = list(range(len(tiles)))
    random.Random(14).shuffle(order)
    tiles = [tiles[k] for k in order]
    tile_paths = [tile_paths[k] for k in order]
    path_file = os.path.join(a.work, f"paths-{a.name}.txt")
    open(path_file, "w").write("\n".join(tile_paths) + "\n")
    record = {"name": a.name, "tiles": len(tile_paths), "seconds": a.seconds}
    warm_file = os.path.join(a.work, f"warm-{a.name}.json")
    if os.path.exists(warm_file):
        record.update(json.load(open(warm_file)))
    if a.warm:
        started = time.monotonic()
        answers = fetch_all(a.base, tile_paths)
        bad = [p for p, (st, _, _) in zip(tile_paths, answers) if st not in (200, 204)]
        if bad:
            sys.exit(f"{a.name}: {len(bad)} tiles failed while warming, e.g. {bad[0]}")
        record["warm_s"] = time.monotonic() - started
        record["sizes"] = [[z, wire, len(body)] for (z, _, _), (_, wire, body)
                           in zip(tiles, answers)]
        print(f"  {a.name}: warmed {len(tile_paths)} tiles in {record['warm_s']:.1f} s")
    runs = []
    for k in range(a.runs):
        r = run_wrk(a.base, path_file, a.connections, a.seconds)
        runs.append(r)
        print(f"  {a.name} run {k + 1}/{a.runs}: {r['rps']:.1f} tiles/s, "
              f"p50 {r['p50_us'] / 1000:.1f} ms, p99 {r['p99_us'] / 1000:.1f} ms, "
              f"{r['errors']} errors, {r['requests']} tiles in {r['duration_us'] / 1e6:.1f} s")
    record["runs"] = runs
    json.dump(record, open(os.path.join(a.work, f"load-{a.name}.json"), "w"))


def step_sizes(a):
    tiles = lists(a)["sizes"]
    started = time.monotonic()
    answers = fetch_all(a.base, paths(a.prefix, tiles), workers=3, accept_gzip=True)
    per_zoom = {}
    for (z, x, y), (status, wire, body) in zip(tiles, answers):
        if status not in (200, 204):
            sys.exit(f"sizes: /{z}/{x}/{y} answered {status}")
        per_zoom.setdefault(z, []).append((len(body), wire, f"{z}/{x}/{y}"))
    result = {}
    for z, sz in sorted(per_zoom.items()):
        raw = sorted(s[0] for s in sz)
        largest = max(sz)
        result[z] = {"tiles": len(sz), "max": largest[0], "max_tile": largest[2],
                     "p99": raw[min(len(raw) - 1, math.ceil(0.99 * len(raw)) - 1)],
                     "median": statistics.median(raw), "max_gzip": max(s[1] for s in sz),
                     "empty": sum(1 for s in raw if s == 0)}
        print(f"  z{z}: {len(sz)} tiles, max {largest[0] / 1024:.1f} KB ({largest[2]}), "
              f"p99 {result[z]['p99'] / 1024:.1f} KB, max gzip {result[z]['max_gzip'] / 1024:.1f} KB")
    print(f"  {len(tiles)} tiles in {time.monotonic() - started:.0f} s")
    json.dump({"zooms": result}, open(os.path.join(a.work, f"sizes-{a.name}.json"), "w"))


def step_area(a):
    l = lists(a)
    w, s, e, n = l["extent"]
    z = 8
    x0, y0 = tile_of(w, n, z)
    x1, y1 = tile_of(e, s, z)
    shown = {}
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            status, _, body = fetch(f"{a.base}{a.prefix}/{z}/{x}/{y}")
            assert status in (200, 204), status
            if not body:
                continue
            extent, feats = decode(body).get(a.layer, (4096, []))
            lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 0.5) / 2 ** z))))
            factor = ellipsoid_factor(lat)
            for props, gtype, rings in feats:
                assert gtype == 3, f"z8 feature of type {gtype}"
                cls = str(props.get(a.class_field, ""))
                area = sum(ring_area_m2(clip_ring(r, 0, extent), z, x, y, extent)
                           for r in rings) * factor
                shown[cls] = shown.get(cls, 0.0) + area
    truth = {c: float(v) for c, v in psql(
        a.onemap_db, "SELECT coalesce(props ->> 'DLBM', ''), sum(area_m2) FROM onemap.features "
                     f"WHERE version_id = (SELECT max(id) FROM onemap.layer_versions) GROUP BY 1")}
    rows = []
    for cls, true_m2 in sorted(truth.items(), key=lambda kv: -kv[1]):
        drawn = shown.get(cls, 0.0)
        rows.append([cls, true_m2, drawn, (drawn / true_m2 - 1) * 100])
        print(f"  {cls}: true {true_m2 / 1e6:.2f} km², z8 {drawn / 1e6:.2f} km², "
              f"{(drawn / true_m2 - 1) * 100:+.2f}%")
    worst = max(abs(r[3]) for r in rows)
    print(f"  largest deviation {worst:.2f}% over {len(rows)} classes")
    json.dump({"classes": rows, "worst_pct": worst},
              open(os.path.join(a.work, f"area-{a.name}.json"), "w"))


def classes_in(body, layer, field):
    if not body:
        return {}
    out = {}
    for props, _, _ in decode(body).get(layer, (0, []))[1]:
        c = str(props.get(field, props.get(field.lower(), "")))
        out[c] = out.get(c, 0) + 1
    return out


def step_stale(a):
    """Publishes a new survey version where the parcels of one dense z14 tile changed class."""
    l = lists(a)
    counts = {}
    for z, x, y in l["bench"]:
        if z == 14:
            counts[(x, y)] = 0
    pts = psql(a.martin_db, "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
                            "FROM dltb TABLESAMPLE BERNOULLI (0.3) REPEATABLE (8)) s")
    for lon, lat in pts:
        t = tile_of(float(lon), float(lat), 14)
        if t in counts:
            counts[t] += 1
    (x, y) = max(counts, key=counts.get)
    z = 14
    n = 2 ** z

    def lon_of(tx):
        return tx / n * 360 - 180

    def lat_of(ty):
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))

    west, east, north, south = lon_of(x), lon_of(x + 1), lat_of(y), lat_of(y + 1)
    new_class = "1001"
    bsm = [r[0] for r in psql(a.martin_db, "SELECT bsm FROM dltb WHERE geom && ST_MakeEnvelope("
                                           f"{west}, {south}, {east}, {north}, 4490)")]
    tile = f"/{z}/{x}/{y}"
    print(f"  tile {tile}: {len(bsm)} parcels become class {new_class}")
    om_url = f"{a.onemap}/tiles/dltb{tile}"
    mc_url = f"{a.martin_cached}/dltb{tile}"
    _, _, om_before = fetch(om_url)
    # The tile as martin's cache holds it: asked until two answers agree (the first may be
    # the miss that fills the cache, or a timeout while it is busy).
    _, _, mc_before = fetch(mc_url)
    for _ in range(5):
        _, _, mc_before2 = fetch(mc_url)
        if mc_before2 == mc_before:
            break
        mc_before = mc_before2
    assert mc_before == mc_before2, f"martin's cache answered {tile} differently five times"

    # The new delivery: the parcels of the z12 tile around it, with those parcels changed, as a
    # GeoPackage (a partial re-survey; small, so that the check needs no second copy of the
    # whole year on a crowded disk).
    gpkg = os.path.join(a.work, "dltb_changed.gpkg")
    if os.path.exists(gpkg):
        os.remove(gpkg)
    x12, y12 = x >> 2, y >> 2
    n12 = 2 ** 12
    subprocess.run(["ogr2ogr", "-f", "GPKG", gpkg, a.gpkg, "DLTB", "-spat",
                    str(x12 / n12 * 360 - 180),
                    str(math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y12 + 1) / n12))))),
                    str((x12 + 1) / n12 * 360 - 180),
                    str(math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y12 / n12)))))],
                   check=True, capture_output=True)
    db = sqlite3.connect(gpkg)
    # Its spatial-index triggers call SpatiaLite functions plain SQLite lacks; the geometries
    # do not change, so the copy does without them.
    for (trigger,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f'DROP TRIGGER "{trigger}"')
    delivered = db.execute("SELECT count(*) FROM DLTB").fetchone()[0]
    db.executemany("UPDATE DLTB SET DLBM = ? WHERE BSM = ?", [(new_class, b) for b in bsm])
    db.commit()
    db.close()

    # Poll Onemap while the version is being published.
    seen = {}
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            _, _, body = fetch(om_url)
            if classes_in(body, "dltb", "DLBM").get(new_class, 0) >= len(bsm) // 2:
                seen["t"] = time.monotonic()
                return
            time.sleep(0.05)

    poller = threading.Thread(target=poll)
    started = time.monotonic()
    poller.start()
    env = dict(os.environ, DATABASE_URL=a.onemap_db)
    subprocess.run([a.onemap_bin, "ingest", gpkg, "--layer", "dltb", "--department", "zrzy",
                    "--year", "2020"], check=True, env=env, capture_output=True)
    ingested = time.monotonic()
    _, _, om_after = fetch(om_url)
    stop.set()
    poller.join()
    # The same change in martin's table, as an editor or a re-import would make it.
    psql(a.martin_db, f"UPDATE dltb SET dlbm = '{new_class}' WHERE geom && ST_MakeEnvelope("
                      f"{west}, {south}, {east}, {north}, 4490)")
    time.sleep(1)
    _, _, mc_after = fetch(mc_url)
    _, _, mu_after = fetch(f"{a.martin_uncached}/dltb{tile}")
    result = {
        "tile": tile, "parcels_changed": len(bsm), "new_class": new_class,
        "delivered": delivered, "delivered_tile": f"12/{x12}/{y12}",
        "onemap_before": classes_in(om_before, "dltb", "DLBM").get(new_class, 0),
        "onemap_after": classes_in(om_after, "dltb", "DLBM").get(new_class, 0),
        "onemap_changed_bytes": om_before != om_after,
        "onemap_seen_s": (seen["t"] - started) if "t" in seen else None,
        "ingest_s": ingested - started,
        "martin_cached_same_bytes": mc_before == mc_after,
        "martin_cached_after": classes_in(mc_after, "dltb", "dlbm").get(new_class, 0),
        "martin_uncached_after": classes_in(mu_after, "dltb", "dlbm").get(new_class, 0),
    }
    print("  " + json.dumps(result))
    json.dump(result, open(os.path.join(a.work, "stale.json"), "w"))


def step_soak(a):
    l = lists(a)
    tile_paths = paths(a.prefix, l["bench"] + l["sizes"])
    random.Random(3).shuffle(tile_paths)
    path_file = os.path.join(a.work, "paths-soak.txt")
    open(path_file, "w").write("\n".join(tile_paths) + "\n")
    rss = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                for line in open(f"/proc/{a.pid}/status"):
                    if line.startswith("VmRSS:"):
                        rss.append(int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.5)

    before = int([ln for ln in open(f"/proc/{a.pid}/status") if ln.startswith("VmRSS:")][0].split()[1])
    sampler = threading.Thread(target=sample)
    sampler.start()
    r = run_wrk(a.base, path_file, a.connections, a.seconds)
    stop.set()
    sampler.join()
    hwm = int([ln for ln in open(f"/proc/{a.pid}/status") if ln.startswith("VmHWM:")][0].split()[1])
    r.update({"distinct_tiles": len(set(tile_paths)), "rss_before_kb": before,
              "rss_peak_kb": max(rss + [before]), "rss_last_kb": rss[-1] if rss else before,
              "hwm_kb": hwm, "connections": a.connections, "seconds": a.seconds})
    print(f"  soak: {r['requests']} requests, {r['rps']:.1f} tiles/s, {r['errors']} errors, "
          f"p99 {r['p99_us'] / 1000:.1f} ms, RSS {before / 1024:.0f} → peak {r['rss_peak_kb'] / 1024:.0f} MB "
          f"(VmHWM {hwm / 1024:.0f} MB)")
    json.dump(r, open(os.path.join(a.work, "soak.json"), "w"))


def step_report(a):
    def load(name):
        return json.load(open(os.path.join(a.work, name)))

    modes = [("martin-uncached", "martin 1.14, cache off"),
             ("martin-cached", "martin 1.14, its cache on (512 MB)"),
             ("onemap-uncached", "onemap serve, `--tile-cache-mb 0`"),
             ("onemap-cached", "onemap serve, its cache on (256 MB, the default)")]
    rec = {m: load(f"load-{m}.json") for m, _ in modes}
    med = {m: statistics.median(r["rps"] for r in rec[m]["runs"]) for m, _ in modes}

    def med_ms(m, key):
        return statistics.median(r[key] for r in rec[m]["runs"]) / 1000

    l = lists(a)
    by_zoom = {}
    for z, _, _ in l["bench"]:
        by_zoom[z] = by_zoom.get(z, 0) + 1
    goal = lambda ok: "met" if ok else "**not met**"
    r_unc = med["onemap-uncached"] / med["martin-uncached"]
    r_cac = med["onemap-cached"] / med["martin-cached"]
    out = [
        "## Tiles (issue 8)",
        "",
        f"The demo generator's 2019 survey year, {int(a.parcels):,} parcels requested "
        f"({psql(a.martin_db, 'SELECT count(*) FROM dltb')[0][0]} polygons), stored in EPSG:4490 "
        "as the survey delivers it. martin 1.14.0 (stock, `cargo install martin --version 1.14.0 "
        "--locked --no-default-features --features postgres`) serves the table as `ogr2ogr` loads "
        "it (auto-discovered, its own SQL: transform, clip and simplify per feature); Onemap serves "
        "the same file as `onemap ingest` loads it. Both get 16 database connections. The same "
        f"fixed list of {len(l['bench'])} tiles at z8-z14 "
        f"({', '.join(f'z{z}: {c}' for z, c in sorted(by_zoom.items()))}; at each zoom the tiles of "
        "randomly sampled parcels, so dense areas weigh more), in one fixed shuffled order, "
        "requested in turn by `wrk -t2 -c16 --timeout 300s` (`benches/tiles.lua`) with "
        f"`Accept-Encoding: gzip` as browsers send it; runs of {a.seconds} s, {a.runs} per "
        "server and mode (fewer for martin without cache, see the runs column), medians. With "
        "cache the runs start after one pass over the list has filled the cache (martin's was "
        "filled in the background while Onemap was measured, since it takes minutes).",
        "",
        "| server, mode | median tiles/s | runs (tiles/s) | p50 (ms) | p99 (ms) | errors |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for m, label in modes:
        runs = rec[m]["runs"]
        out.append(f"| {label} | {med[m]:,.1f} | {' '.join(format(r['rps'], '.1f') for r in runs)} | "
                   f"{med_ms(m, 'p50_us'):.1f} | {med_ms(m, 'p99_us'):.1f} | "
                   f"{sum(r['errors'] for r in runs)} |")
    out += [
        "",
        f"Goals from the issue: Onemap uncached ≥ 1.5 × martin uncached ({r_unc:.2f}×: "
        f"{goal(r_unc >= 1.5)}); Onemap cached ≥ martin cached ({r_cac:.2f}×: {goal(r_cac >= 1.0)}).",
        "",
        "Tile sizes of the benchmark list as each server answered it in the warm-up pass "
        "(uncompressed MVT; the same tiles from both):",
        "",
        "| zoom | tiles | martin largest (KB) | martin median (KB) | Onemap largest (KB) | Onemap median (KB) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    ms, os_ = {}, {}
    for z, wire, raw in rec["martin-cached"].get("sizes", []):
        ms.setdefault(z, []).append(raw)
    for z, wire, raw in rec["onemap-cached"].get("sizes", []):
        os_.setdefault(z, []).append(raw)
    for z in sorted(ms):
        out.append(f"| {z} | {len(ms[z])} | {max(ms[z]) / 1024:,.1f} | "
                   f"{statistics.median(ms[z]) / 1024:,.1f} | {max(os_.get(z, [0])) / 1024:,.1f} | "
                   f"{statistics.median(os_.get(z, [0])) / 1024:,.1f} |")
    sizes = load("sizes-onemap.json")["zooms"]
    biggest = max(v["max"] for v in sizes.values())
    out += [
        "",
        "### Tile sizes at every zoom (issue 8, item 1)",
        "",
        "Onemap's tiles of the same survey year, uncompressed MVT as served without "
        "`Accept-Encoding` (the PostGIS guidance of 500 KB is about these bytes): every tile of "
        "the county's extent at z0-z11, and at z12-z16 every tile holding one of "
        f"{l['points']:,} randomly sampled parcels (so the dense areas are all there).",
        "",
        "| zoom | tiles checked | largest (KB) | largest tile | p99 (KB) | median (KB) | largest gzip (KB) | empty |",
        "|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for z, v in sorted(sizes.items(), key=lambda kv: int(kv[0])):
        out.append(f"| {z} | {v['tiles']} | {v['max'] / 1024:,.1f} | {v['max_tile']} | "
                   f"{v['p99'] / 1024:,.1f} | {v['median'] / 1024:,.1f} | "
                   f"{v['max_gzip'] / 1024:,.1f} | {v['empty']} |")
    area = load("area-onemap.json")
    out += [
        "",
        f"Goal: no tile over 500 KB (largest {biggest / 1024:,.1f} KB: {goal(biggest <= 500 * 1024)}).",
        "",
        "Area per land class drawn at z8 (every z8 tile of the county decoded, each clipped to its "
        "own square, areas on the ellipsoid) against the sum of the parcels' geodesic `area_m2`:",
        "",
        "| class (DLBM) | true (km²) | drawn at z8 (km²) | deviation |",
        "|---|---:|---:|---:|",
    ]
    for cls, true_m2, drawn, pct in area["classes"]:
        out.append(f"| {cls or '(none)'} | {true_m2 / 1e6:,.2f} | {drawn / 1e6:,.2f} | {pct:+.2f}% |")
    out += ["", f"Goal: every class within 5% (largest deviation {area['worst_pct']:.2f}%: "
                f"{goal(area['worst_pct'] < 5)})."]
    prepared = None
    log = os.path.join(a.work, "onemap-0.log")
    if os.path.exists(log):
        found = re.findall(r"low-zoom land-use tiles prepared in ([0-9.]+) s", open(log).read())
        prepared = found[0] if found else None
    out += [
        "",
        "How z0-z11 are drawn: an area-true mosaic of the land classes (`tile-server/src/tiles/"
        "mosaic.rs`). The land of each class is summed once per cell of a grid of about 120 m "
        "(one query over the parcels); at every zoom each tile's cells (256 a side, 2 px of a "
        "512-px tile; 128 at z11) are shared out between the classes in proportion to their land "
        "in the tile, the biggest share of a cell first, and what is left of a class (less than "
        "a cell) is drawn as runs of tile units, so every class's drawn area is its true area to "
        "the tile unit and a tile holds at most 65,536 cells however dense the parcels. "
        + (f"Built by the server when it started (while martin's cache was being filled in the "
           f"background): {prepared} s for this survey year "
           "(the previous method, dissolving the parcels by class per tile, took 19.6 min "
           "for the same year and gave z8 tiles of 1 MB)." if prepared else ""),
    ]
    st = load("stale.json")
    out += [
        "",
        "### A new version while both serve",
        "",
        f"With both servers running and their caches warm, the {st['parcels_changed']} parcels of "
        f"tile {st['tile']} change class to {st['new_class']}: for Onemap a new survey delivery "
        f"(the {st['delivered']:,} parcels of tile {st['delivered_tile']}, those in the "
        f"changed tile with their new class) is published with `onemap ingest --year 2020` as the "
        "layer's newest version; for martin the same rows are updated in its table. Onemap's "
        "next request "
        f"after the ingest returned drew {st['onemap_after']} parcels of the new class (before: "
        f"{st['onemap_before']}); a client polling every 50 ms saw the new tile "
        f"{st['onemap_seen_s']:.1f} s after the ingest started (the ingest took "
        f"{st['ingest_s']:.1f} s). martin with its cache served "
        f"{'the very same bytes as before' if st['martin_cached_same_bytes'] else 'changed bytes'} "
        f"({st['martin_cached_after']} parcels of the new class) while a martin without cache on "
        f"the same table drew {st['martin_uncached_after']}: its cache stays stale until it is "
        "restarted or the entry is evicted.",
    ]
    so = load("soak.json")
    out += [
        "",
        "### Soak",
        "",
        f"Onemap (cache on) under `wrk -c{so['connections']} -d{so['seconds']}s` over "
        f"{so['distinct_tiles']:,} distinct tiles (the benchmark list and the size-check tiles, "
        f"shuffled, so most first requests miss the cache): {so['requests']:,} tiles, "
        f"{so['rps']:,.1f} tiles/s, p99 {so['p99_us'] / 1000:.1f} ms, {so['errors']} errors "
        f"(connect {so['connect']}, read {so['read']}, write {so['write']}, HTTP {so['status']}, "
        f"timeout {so['timeout']}). Server resident memory: {so['rss_before_kb'] / 1024:.0f} MB "
        f"before, peak {so['rss_peak_kb'] / 1024:.0f} MB during (sampled every 0.5 s; VmHWM "
        f"{so['hwm_kb'] / 1024:.0f} MB since start), {so['rss_last_kb'] / 1024:.0f} MB at the end.",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.platform()}; PostgreSQL 15 + PostGIS 3.3 as "
        f"given by the admin URL, shared; wrk, the tile server and PostgreSQL all on the same 2 "
        f"cores. Run on {datetime.date.today().isoformat()}.",
        "",
        "Reproduce (builds onemap in release mode and, once, stock martin into "
        "`/var/cache/onemap/martin-1.14.0`; needs `psql`, `ogr2ogr` from Debian `gdal-bin`, `wrk` "
        "from Debian `wrk`, `curl`):",
        "",
        "```sh",
        f"ONEMAP_BENCH_ADMIN_URL=postgresql://USER:PASSWORD@HOST:PORT/postgres benches/tiles.sh "
        f"{a.parcels} {a.runs} {a.seconds}",
        "```",
        "",
    ]
    section = "\n".join(out)
    text = open(a.benchmarks).read()
    start = text.find("## Tiles (issue 8)")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + ("\n" + text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    open(a.benchmarks, "w").write(text)
    print(section)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("step")
    p.add_argument("--work", required=True)
    p.add_argument("--base")
    p.add_argument("--prefix", default="")
    p.add_argument("--name", default="")
    p.add_argument("--martin-db")
    p.add_argument("--onemap-db")
    p.add_argument("--per-zoom", type=int, default=60)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seconds", type=int, default=30)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--warm", action="store_true")
    p.add_argument("--layer", default="dltb")
    p.add_argument("--class-field", default="DLBM")
    p.add_argument("--onemap")
    p.add_argument("--martin-cached")
    p.add_argument("--martin-uncached")
    p.add_argument("--onemap-bin")
    p.add_argument("--gpkg")
    p.add_argument("--pid")
    p.add_argument("--benchmarks")
    p.add_argument("--parcels")
    p.add_argument("--command")
    a = p.parse_args()
    globals()[f"step_{a.step}"](a)


if __name__ == "__main__":
    main()
