// Find a place: coordinates ("101.1,38.6", lon first; lat-first is recognised when the first
// number cannot be a longitude of China), a parcel number (TBBH: digits only) through the
// server's attribute search on the land-use layer (`?field=TBBH&value=…`, the current year;
// TBBH is numbered per village, so several parcels may share one), or a village name from the
// `villages` layer (loaded once, filtered here).
import { Marker } from 'maplibre-gl';
import { tr } from './i18n.js';
import { parseCoordinates } from './coordinates.js';
import { apiFetch } from './api.js';

const MAX_RESULTS = 20;
/** The land-use layer whose parcels carry TBBH, and how many parcels one number may list. */
const PARCEL_LAYER = 'dltb';
const MAX_PARCELS = 5;

/** [west, south, east, north] of a GeoJSON geometry, or null when it has no coordinates. */
export function geometryBounds(geometry) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]);
      b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
    } else c.forEach(walk);
  };
  const all = geometry?.type === 'GeometryCollection' ? geometry.geometries : [geometry];
  for (const g of all) if (g?.coordinates) walk(g.coordinates);
  return Number.isFinite(b[0]) ? b : null;
}

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c != null));
  return node;
}

/**
 * Wires the search form.
 * @param {HTMLFormElement} form with an input[type=search] and a results list element
 * @param {object} map
 * @param {Map<string, object>} catalogById to know whether `villages` is readable at all
 */
export function enableSearch(form, map, catalogById) {
  const input = form.querySelector('input');
  const results = document.getElementById('search-results');
  const status = document.getElementById('search-status');
  let villages = null;
  const marker = new Marker({ color: '#0072B2' });

  const loadVillages = async () => {
    if (villages) return villages;
    if (!catalogById.has('villages')) return (villages = []);
    const res = await apiFetch('/api/layers/villages/features?limit=10000', { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`villages: ${res.status}`);
    villages = (await res.json()).features.filter((f) => f.geometry?.type === 'Point');
    return villages;
  };

  const goTo = (lngLat, zoom) => {
    marker.setLngLat(lngLat).addTo(map);
    map.flyTo({ center: lngLat, zoom, essential: true });
  };

  const say = (text) => { status.textContent = text; };

  const goToBounds = (bounds) => {
    marker.setLngLat([(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2]).addTo(map);
    map.fitBounds(bounds, { padding: 60, maxZoom: 17, essential: true });
  };

  async function findParcel(number) {
    if (!catalogById.has(PARCEL_LAYER)) {
      say(tr('没有可查询图斑编号的地类图斑图层', 'No land-use parcel layer to search by parcel number'));
      return;
    }
    try {
      say(tr('搜索中…', 'Searching…'));
      const url = `/api/layers/${PARCEL_LAYER}/features?field=TBBH&value=${encodeURIComponent(number)}&limit=${MAX_PARCELS}`;
      const res = await apiFetch(url, { headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(`${res.status}`);
      const hits = (await res.json()).features
        .map((f) => ({ f, bounds: geometryBounds(f.geometry) }))
        .filter((h) => h.bounds);
      if (hits.length === 0) {
        say(tr(`没有图斑编号为 ${number} 的图斑`, `No parcel numbered ${number}`));
        return;
      }
      say(tr(`找到 ${hits.length} 个图斑（TBBH ${number}）`, `${hits.length} parcel(s) numbered ${number} (TBBH)`));
      for (const { f, bounds } of hits) {
        const p = f.properties ?? {};
        const label = [`TBBH ${p.TBBH ?? number}`, p.DLMC, p.ZLDWDM].filter(Boolean).join(' · ');
        const button = el('button', { type: 'button', className: 'result', textContent: label });
        button.dataset.fid = String(f.id);
        button.addEventListener('click', () => goToBounds(bounds));
        results.append(el('li', {}, button));
      }
      goToBounds(hits[0].bounds);
    } catch (err) {
      say(tr(`搜索失败：${err.message}`, `Search failed: ${err.message}`));
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    results.replaceChildren();
    const text = input.value.trim();
    if (!text) return;
    const coords = parseCoordinates(text);
    if (coords) {
      goTo(coords, Math.max(map.getZoom(), 13));
      say(tr(`已定位到 ${coords[0]}, ${coords[1]}`, `Moved to ${coords[0]}, ${coords[1]}`));
      return;
    }
    if (/^\d+$/.test(text)) {
      await findParcel(text);
      return;
    }
    try {
      say(tr('搜索中…', 'Searching…'));
      const needle = text.toLowerCase();
      const hits = (await loadVillages())
        .filter((f) => String(f.properties?.name ?? '').toLowerCase().includes(needle))
        .slice(0, MAX_RESULTS);
      if (hits.length === 0) {
        say(tr(`没有找到“${text}”`, `Nothing found for “${text}”`));
        return;
      }
      say(tr(`找到 ${hits.length} 个村（社区）`, `${hits.length} village(s) found`));
      for (const f of hits) {
        const button = el('button', { type: 'button', className: 'result', textContent: f.properties.name });
        button.addEventListener('click', () => goTo(f.geometry.coordinates, 14));
        results.append(el('li', {}, button));
      }
      if (hits.length === 1) goTo(hits[0].geometry.coordinates, 14);
    } catch (err) {
      say(tr(`搜索失败：${err.message}`, `Search failed: ${err.message}`));
    }
  });

  return { marker };
}
