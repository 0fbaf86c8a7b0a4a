// Entry point: loads style, catalog and land classes from the Onemap server, builds the map,
// the layer panel, the legend and click-inspect, and exposes `window.onemap` for tests.
import { Map as MapLibreMap, NavigationControl, ScaleControl } from 'maplibre-gl';
import { fetchCatalog, fetchLandClasses, fetchStyle } from './api.js';
import { initialBounds } from './extent.js';
import { styleLayersByCatalogId } from './style-layers.js';
import { renderLayersPanel } from './layers-panel.js';
import { renderLegend } from './legend.js';
import { enableInspect } from './inspect.js';

// `map` is filled in once created; `ready` settles when style and catalog have loaded and the
// map has gone idle for the first time (tiles of the initial view drawn), or rejects on error.
const onemap = { map: null, ready: null };
window.onemap = onemap;

function showError(err) {
  const box = document.getElementById('error');
  box.textContent = `加载失败 Failed to load: ${err.message}`;
  box.hidden = false;
}

async function start() {
  // Fetched together; the bounds need the catalog before the map is created so that the first
  // idle already is the fitted view.
  const [style, catalog, landClasses] = await Promise.all([
    fetchStyle(), fetchCatalog(), fetchLandClasses(),
  ]);

  const map = new MapLibreMap({
    container: 'map',
    style,
    bounds: initialBounds(catalog),
    fitBoundsOptions: { padding: 24 },
    // Without glyphs or sprites nothing needs the network beyond our own server.
    attributionControl: { compact: true },
  });
  onemap.map = map;
  // Registered before anything renders: the first idle comes after the style 'load'.
  const firstIdle = map.once('idle');
  map.addControl(new NavigationControl({ visualizePitch: false }), 'top-right');
  map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-right');

  const styleLayers = styleLayersByCatalogId(style);
  const catalogById = new Map(catalog.map((l) => [l.id, l]));
  const landUseIds = catalog.filter((l) => l.class_field).map((l) => l.id);
  const legend = document.getElementById('legend');

  await map.once('load');
  const inspect = enableInspect(map, catalogById, landClasses, styleLayers);
  // The legend is only meaningful while some land-use layer is shown.
  const updateLegend = () => {
    legend.hidden = !landUseIds.some((id) => document.getElementById(`layer-toggle-${id}`)?.checked);
  };
  const onToggle = () => {
    updateLegend();
    // The popup may describe a feature that is no longer drawn.
    inspect.close();
  };
  renderLayersPanel(document.getElementById('layer-groups'), map, catalog, styleLayers, onToggle);
  renderLegend(document.getElementById('legend-body'), landClasses);
  updateLegend();

  await firstIdle;
}

onemap.ready = start().catch((err) => {
  showError(err);
  throw err;
});
