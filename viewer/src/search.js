// Find a place: coordinates ("101.1,38.6", lon first; lat-first is recognised when the first
// number cannot be a longitude of China) or a village name from the `villages` layer (loaded
// once, filtered here). Parcel numbers (TBBH) need an attribute query on the server, which
// does not exist yet; the box says so instead of pretending.
import { Marker } from 'maplibre-gl';
import { tr } from './i18n.js';
import { parseCoordinates } from './coordinates.js';
import { apiFetch } from './api.js';

const MAX_RESULTS = 20;

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
      say(tr('按图斑编号 (TBBH) 搜索需要服务器的属性查询接口，尚未提供。',
        'Search by parcel number (TBBH) needs an attribute query API on the server, which does not exist yet.'));
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
