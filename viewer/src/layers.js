// The state every map view shares: per catalog layer its visibility, opacity and shown year,
// plus the draw order. The layer panel changes it; each attached map (the main map and, while
// comparing, the second one) gets every change applied, so the two can never drift apart.

const OPACITY_PROPS = {
  fill: ['fill-opacity'],
  line: ['line-opacity'],
  circle: ['circle-opacity', 'circle-stroke-opacity'],
  symbol: ['text-opacity'],
};

/** Overlay style layers (measurement, highlights) that must stay above every catalog layer. */
export const OVERLAY_PREFIX = 'onemap-overlay-';

/**
 * `value` scaled by `factor`. Zoom curves cannot be wrapped in `*` (zoom must be the input of a
 * top-level interpolate/step), so their numeric outputs are scaled instead.
 */
export function scaleOpacity(value, factor) {
  if (value === undefined || value === null) return factor;
  if (typeof value === 'number') return value * factor;
  if (Array.isArray(value) && (value[0] === 'interpolate' || value[0] === 'step')) {
    const out = [...value];
    const firstOutput = value[0] === 'interpolate' ? 4 : 2;
    for (let i = firstOutput; i < out.length; i += 2) {
      out[i] = typeof out[i] === 'number' ? out[i] * factor : ['*', factor, out[i]];
    }
    return out;
  }
  return ['*', factor, value];
}

/** Catalog ids, topmost first, in the order the style draws them. */
function styleOrder(styleLayers) {
  return [...styleLayers.keys()].reverse();
}

/** Years of a layer's versions, oldest first (empty when it is not versioned by year). */
export const layerYears = (layer) => [...new Set((layer.versions ?? [])
  .map((v) => v.year).filter(Number.isInteger))].sort((a, b) => a - b);

export class LayerModel {
  /**
   * @param {object[]} catalog
   * @param {Map<string, string[]>} styleLayers catalog id -> style layer ids, in style order
   * @param {object} style the style as fetched (its paint values are the 100 % opacity)
   */
  constructor(catalog, styleLayers, style) {
    this.catalog = catalog;
    this.byId = new Map(catalog.map((l) => [l.id, l]));
    this.styleLayers = styleLayers;
    this.baseLayers = new Map((style.layers ?? []).map((l) => [l.id, l]));
    this.order = styleOrder(styleLayers);
    this.state = new Map();
    for (const layer of catalog) {
      const ids = styleLayers.get(layer.id) ?? [];
      const years = layerYears(layer);
      this.state.set(layer.id, {
        visible: ids.some((id) => this.baseLayers.get(id)?.layout?.visibility !== 'none'),
        opacity: 1,
        // null = the server's default version (the latest); a year once one is picked.
        year: years.length ? years[years.length - 1] : null,
      });
    }
    this.maps = new Map(); // map -> { yearFor(id, year) -> year }
    this.listeners = new Set();
  }

  /** Applies the whole state to `map` and keeps it applied until `detach`. */
  attach(map, { yearFor = (id, year) => year } = {}) {
    this.maps.set(map, { yearFor, years: new Map() });
    for (const id of this.state.keys()) this.#apply(map, id);
    this.#restack(map);
  }

  detach(map) { this.maps.delete(map); }

  /** Re-applies the years (e.g. after the compare view picked another year). */
  refreshYears(map) {
    for (const id of this.state.keys()) this.#applyYear(map, id);
  }

  onChange(fn) { this.listeners.add(fn); }

  get(id) { return this.state.get(id); }

  setVisible(id, visible) { this.#update(id, { visible }); }

  setOpacity(id, opacity) { this.#update(id, { opacity: Math.min(1, Math.max(0, opacity)) }); }

  setYear(id, year) { this.#update(id, { year }); }

  /** Moves a layer `delta` places in the draw order (negative = up, towards the top). */
  move(id, delta) {
    const from = this.order.indexOf(id);
    const to = from + delta;
    if (from < 0 || to < 0 || to >= this.order.length) return;
    this.order.splice(from, 1);
    this.order.splice(to, 0, id);
    for (const map of this.maps.keys()) this.#restack(map);
    for (const fn of this.listeners) fn(id, 'order');
  }

  #update(id, patch) {
    Object.assign(this.state.get(id), patch);
    for (const map of this.maps.keys()) this.#apply(map, id);
    for (const fn of this.listeners) fn(id, Object.keys(patch)[0]);
  }

  #apply(map, id) {
    const { visible, opacity } = this.state.get(id);
    for (const styleId of this.styleLayers.get(id) ?? []) {
      if (!map.getLayer(styleId)) continue;
      map.setLayoutProperty(styleId, 'visibility', visible ? 'visible' : 'none');
      const base = this.baseLayers.get(styleId);
      for (const prop of OPACITY_PROPS[map.getLayer(styleId).type] ?? []) {
        map.setPaintProperty(styleId, prop, scaleOpacity(base?.paint?.[prop], opacity));
      }
    }
    this.#applyYear(map, id);
  }

  #applyYear(map, id) {
    const entry = this.maps.get(map);
    const layer = this.byId.get(id);
    if (!entry || !layerYears(layer).length) return;
    const year = entry.yearFor(id, this.state.get(id).year);
    const source = map.getSource(id);
    if (!source?.setUrl || entry.years.get(id) === year) return;
    const latest = layerYears(layer).at(-1);
    // The style's source already is the latest year; switching back to it needs no reload
    // only if it never left it.
    if (!entry.years.has(id) && year === latest) {
      entry.years.set(id, year);
      return;
    }
    entry.years.set(id, year);
    source.setUrl(new URL(`/tiles/${encodeURIComponent(id)}?year=${year}`, window.location.href).href);
  }

  /**
   * Restacks catalog layers in `order`, below any overlay layer; their labels (symbol layers)
   * go above every geometry, in the same order, so no fill covers a name.
   */
  #restack(map) {
    const overlay = map.getStyle().layers.find((l) => l.id.startsWith(OVERLAY_PREFIX))?.id;
    const isLabel = (styleId) => map.getLayer(styleId)?.type === 'symbol';
    for (const labels of [false, true]) {
      for (const id of [...this.order].reverse()) {
        for (const styleId of this.styleLayers.get(id) ?? []) {
          if (map.getLayer(styleId) && isLabel(styleId) === labels) map.moveLayer(styleId, overlay);
        }
      }
    }
  }
}
