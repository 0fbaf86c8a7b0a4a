// Click-to-inspect: a popup with the clicked features' layer titles and all their attributes.
import { Popup } from 'maplibre-gl';
import { LAYER_KEY } from './style-layers.js';
import { formatArea } from './format.js';

// Points and thin lines are hard to hit exactly; polygons are queried at the exact pixel so
// the popup shows the parcel under the cursor and not a neighbour.
const HIT_TOLERANCE_PX = 5;
// One section per catalog layer hit, topmost first. Generous, so that the land-use parcel is
// never cut off by the boundaries and points stacked above it; the popup scrolls.
const MAX_SECTIONS = 8;

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c != null));
  return node;
}

/** Displays one property value, resolving land-class codes and formatting areas. */
function displayValue(key, value, layer, classByCode) {
  if (key === 'area_m2') return formatArea(value);
  if (layer?.class_field && key === layer.class_field) {
    const cls = classByCode.get(String(value));
    return cls ? `${value} ${cls.name_zh} (${cls.name_en})` : `${value} (未知地类 unknown class)`;
  }
  return value === null || value === undefined ? '' : String(value);
}

function featureSection(feature, layer, classByCode) {
  const title = layer?.title_zh ?? layer?.title ?? feature.layer.metadata?.[LAYER_KEY] ?? feature.source;
  const heading = el('h4', { textContent: title, title: layer?.title_en ?? '' });
  const rows = Object.entries(feature.properties).map(([key, value]) => {
    const th = el('th', { scope: 'row', textContent: key });
    const td = el('td', { textContent: displayValue(key, value, layer, classByCode) });
    if (layer?.class_field && key === layer.class_field) td.className = 'land-class';
    return el('tr', {}, th, td);
  });
  const table = rows.length
    ? el('table', { className: 'attrs' }, el('tbody', {}, ...rows))
    : el('p', { className: 'status', textContent: '无属性 No attributes' });
  return el('section', { className: 'feature' }, heading, table);
}

/** Topmost feature of each catalog layer under the click, in render order (top first). */
function featuresAt(map, point, styleLayerIds, smallGeomLayerIds) {
  const exact = map.queryRenderedFeatures(point, { layers: styleLayerIds });
  const near = smallGeomLayerIds.length
    ? map.queryRenderedFeatures(
      [[point.x - HIT_TOLERANCE_PX, point.y - HIT_TOLERANCE_PX],
        [point.x + HIT_TOLERANCE_PX, point.y + HIT_TOLERANCE_PX]],
      { layers: smallGeomLayerIds })
    : [];
  const seen = new Set();
  const picked = [];
  // Points and lines first: they sit on top of polygons visually.
  for (const f of [...near, ...exact]) {
    const catalogId = f.layer.metadata?.[LAYER_KEY];
    if (seen.has(catalogId)) continue;
    seen.add(catalogId);
    picked.push(f);
  }
  return picked.slice(0, MAX_SECTIONS);
}

/**
 * Wires the click popup and the pointer cursor.
 * @param {Map<string, object>} catalogById
 * @param {object[]} landClasses
 * @param {Map<string, string[]>} styleLayers catalog layer id -> style layer ids
 * @param {{ busy?: () => boolean }} [options] `busy()` true while another tool (measuring)
 *   owns map clicks
 * @returns {{ close: () => void, remove: () => void }} `close` closes the popup (e.g. when the
 *   layers it shows are hidden); `remove` also drops the document listener
 */
export function enableInspect(map, catalogById, landClasses, styleLayers, { busy = () => false } = {}) {
  const classByCode = new Map(landClasses.map((c) => [c.code, c]));
  const allIds = [...styleLayers.values()].flat();
  const smallGeomIds = [...styleLayers.entries()]
    .filter(([id]) => ['point', 'line'].includes(catalogById.get(id)?.geometry_type))
    .flatMap(([, ids]) => ids);
  // Only layers currently in the style can be queried (hidden ones are skipped by MapLibre).
  const present = (ids) => ids.filter((id) => map.getLayer(id));
  const popup = new Popup({ maxWidth: '360px', className: 'onemap-popup' });

  /** Opens the popup for whatever is drawn at canvas pixel `point` (closes it if nothing). */
  const inspectAt = (point, lngLat = map.unproject(point)) => {
    const features = featuresAt(map, point, present(allIds), present(smallGeomIds));
    if (features.length === 0) {
      popup.remove();
      return 0;
    }
    const content = el('div', { className: 'popup-content' },
      ...features.map((f) => featureSection(f, catalogById.get(f.layer.metadata?.[LAYER_KEY]), classByCode)));
    popup.setLngLat(lngLat).setDOMContent(content).addTo(map);
    return features.length;
  };

  map.on('click', (e) => {
    if (busy()) return;
    inspectAt(e.point, e.lngLat);
  });

  // Keyboard users can dismiss the popup without reaching its close button.
  const onKey = (e) => {
    if (e.key === 'Escape') popup.remove();
  };
  document.addEventListener('keydown', onKey);

  map.on('mousemove', (e) => {
    if (busy()) return;
    const hit = map.queryRenderedFeatures(e.point, { layers: present(allIds) }).length > 0;
    map.getCanvas().style.cursor = hit ? 'pointer' : '';
  });

  return {
    inspectAt,
    // Keyboard users: what is under the centre of the map (pan with the arrow keys first).
    inspectCentre: () => {
      const { width, height } = map.getCanvas().getBoundingClientRect();
      return inspectAt([width / 2, height / 2], map.getCenter());
    },
    close: () => popup.remove(),
    // For maps that go away (the comparison map): the document listener would outlive them.
    remove: () => {
      popup.remove();
      document.removeEventListener('keydown', onKey);
    },
  };
}
