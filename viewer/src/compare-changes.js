// The change parcels between the two compared years, over the whole county: the pieces of
// land-use that changed class from the earlier to the later of the left year (the land-use
// layer's slider) and the right year (the comparison's), from `/tiles/changes`. Drawn on the
// main map and, while comparing, on the second map too, so they show on both sides of the
// divider. Pieces whose change is prohibited in their reserve zone are vermillion, the others
// blue (Okabe–Ito), and the status line says so in words.
import { onLangChange, tr } from './i18n.js';
import { OVERLAY_PREFIX } from './layers.js';
import { CHART_PALETTE } from './palette.js';

const SOURCE = `${OVERLAY_PREFIX}compare-changes`;
const FILL = `${SOURCE}-fill`;
const LINE = `${SOURCE}-line`;
const FLAGGED = CHART_PALETTE[5]; // vermillion
const OTHER = CHART_PALETTE[4]; // blue

/**
 * @param {object} o
 * @param {object} o.map the main map
 * @param {object} o.compare the comparison controller (`yearB`, `map`)
 * @param {object} o.model the LayerModel (the left year is the land-use layer's)
 * @param {object} o.landUse the versioned land-use catalog layer
 * @param {HTMLInputElement} o.checkbox
 * @param {HTMLElement} o.status
 */
export function enableCompareChanges({ map, compare, model, landUse, checkbox, status }) {
  const ctl = {
    get shown() { return checkbox.checked; },
    /** [from, to] drawn now, or null. */
    years: null,
    apply, refresh,
  };

  const pair = () => {
    const a = model.get(landUse.id).year;
    const b = compare.yearB;
    return [Math.min(a, b), Math.max(a, b)];
  };

  function remove(m) {
    for (const id of [FILL, LINE]) if (m.getLayer(id)) m.removeLayer(id);
    if (m.getSource(SOURCE)) m.removeSource(SOURCE);
  }

  /** Draws (or removes) the change parcels on map `m` for the current pair of years. */
  function apply(m) {
    remove(m);
    const [from, to] = pair();
    if (!checkbox.checked || from === to) return;
    const q = new URLSearchParams({ layer: landUse.id, from: String(from), to: String(to) });
    m.addSource(SOURCE, {
      type: 'vector',
      tiles: [new URL(`/tiles/changes/{z}/{x}/{y}?${q}`, window.location.href).href.replace(/%7B/g, '{').replace(/%7D/g, '}')],
      minzoom: 0,
      maxzoom: 14,
    });
    const colour = ['case', ['to-boolean', ['get', 'flagged']], FLAGGED, OTHER];
    // On top, as every overlay (the layer model keeps catalog layers under the overlays).
    m.addLayer({ id: FILL, type: 'fill', source: SOURCE, 'source-layer': 'changes', paint: { 'fill-color': colour, 'fill-opacity': 0.45 } });
    m.addLayer({ id: LINE, type: 'line', source: SOURCE, 'source-layer': 'changes', paint: { 'line-color': colour, 'line-width': 1.5 } });
  }

  function refresh() {
    const [from, to] = pair();
    ctl.years = checkbox.checked && from !== to ? [from, to] : null;
    for (const m of [map, compare.map].filter(Boolean)) apply(m);
    say();
  }

  function say() {
    const [from, to] = pair();
    if (!checkbox.checked) status.textContent = '';
    else if (from === to) status.textContent = tr('两侧年份相同，没有变化图斑', 'Both sides show the same year: no change parcels');
    else {
      status.textContent = tr(`${from}→${to} 变化图斑：橙红色为保护区内禁止的变化，蓝色为其他变化`,
        `${from}→${to} change parcels: vermillion where the change is prohibited in its reserve zone, blue otherwise`);
    }
  }

  checkbox.addEventListener('change', refresh);
  onLangChange(say);
  model.onChange((id, what) => { if (id === landUse.id && what === 'year') refresh(); });
  return ctl;
}
