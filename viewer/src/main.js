// Entry point: loads style, catalog and land classes from the Onemap server, builds the map,
// the layer panel (with years), the legend, click-inspect, search, measuring and the year
// comparison, zone trends, enforcement lists, the clue ledger and signing in, and exposes
// `window.onemap` for tests.
import { Map as MapLibreMap, NavigationControl, ScaleControl } from 'maplibre-gl';
import { fetchCatalog, fetchLandClasses, fetchStyle, transformRequest } from './api.js';
import { enableAuth, takeSavedCamera } from './auth.js';
import { createTrends } from './trends.js';
import { createEnforcement } from './enforcement.js';
import { createLedger } from './ledger.js';
import { initialBounds } from './extent.js';
import { styleLayersByCatalogId } from './style-layers.js';
import { LayerModel, layerYears } from './layers.js';
import { renderLayersPanel } from './layers-panel.js';
import { renderLegend } from './legend.js';
import { enableInspect } from './inspect.js';
import { enableSearch } from './search.js';
import { enableMeasure } from './measure.js';
import { createCompare } from './compare.js';
import { enableCompareChanges } from './compare-changes.js';
import { applyStaticTexts, currentLang, onLangChange, setLang, tr } from './i18n.js';
import { CHART_PALETTE } from './palette.js';
import { applyLabelLanguage } from './map-labels.js';

// `map` is filled in once created; `ready` settles when style and catalog have loaded and the
// map has gone idle for the first time (tiles of the initial view drawn), or rejects on error.
// `timings` holds milliseconds since navigation start (performance.now()).
const onemap = { map: null, ready: null, timings: {}, palette: CHART_PALETTE };
window.onemap = onemap;

function showError(err) {
  const box = document.getElementById('error');
  box.textContent = `${tr('加载失败', 'Failed to load')}: ${err.message}`;
  box.hidden = false;
}

function wireChrome(getMap) {
  applyStaticTexts();
  const langButton = document.getElementById('lang-toggle');
  const showLang = () => {
    // The button names the language it switches to, in that language.
    const en = currentLang() === 'en';
    langButton.textContent = en ? '中文' : 'English';
    langButton.lang = en ? 'zh-CN' : 'en';
    langButton.setAttribute('aria-label', en ? '切换到中文' : 'Switch to English');
  };
  showLang();
  langButton.addEventListener('click', () => setLang(currentLang() === 'en' ? 'zh' : 'en'));
  onLangChange(showLang);

  const toggle = document.getElementById('panel-toggle');
  const setCollapsed = (collapsed) => {
    document.body.classList.toggle('panel-collapsed', collapsed);
    toggle.setAttribute('aria-expanded', String(!collapsed));
    toggle.dataset.zhLabel = collapsed ? '展开侧栏' : '收起侧栏';
    toggle.dataset.enLabel = collapsed ? 'Show side panel' : 'Hide side panel';
    toggle.setAttribute('aria-label', tr(toggle.dataset.zhLabel, toggle.dataset.enLabel));
    toggle.firstElementChild.textContent = collapsed ? '»' : '«';
    getMap()?.resize();
    onemap.compare?.map?.resize();
  };
  toggle.addEventListener('click', () => setCollapsed(toggle.getAttribute('aria-expanded') === 'true'));
  // Tablets in portrait and small laptops start with the map, not the panel.
  if (window.innerWidth < 900) setCollapsed(true);
}

async function start() {
  wireChrome(() => onemap.map);
  onemap.auth = enableAuth(document.getElementById('account'), () => onemap.map);
  // Fetched together; the bounds need the catalog before the map is created so that the first
  // idle already is the fitted view.
  const [style, catalog, landClasses] = await Promise.all([
    fetchStyle(), fetchCatalog(), fetchLandClasses(),
  ]);

  // After signing in or out the page reloads where it was.
  const camera = takeSavedCamera();
  const map = new MapLibreMap({
    container: 'map',
    style: structuredClone(style),
    ...(camera ? { center: camera.center, zoom: camera.zoom } : { bounds: initialBounds(catalog), fitBoundsOptions: { padding: 24 } }),
    // Our credentials (a bearer token, when the server gave one) on TileJSON and tile requests.
    transformRequest,
    // Without glyphs or sprites nothing needs the network beyond our own server: the style has
    // no glyphs URL, so MapLibre draws label glyphs in the page from local fonts (Chinese too).
    attributionControl: { compact: true },
  });
  onemap.map = map;
  // The skip link lands on the canvas itself, where MapLibre's arrow-key panning works.
  document.querySelector('.skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    map.getCanvas().focus();
  });
  // Registered before anything renders: the first idle comes after the style 'load'.
  const firstIdle = map.once('idle').then(() => { onemap.timings.firstIdle = performance.now(); });
  // The first frame drawn after a land-use tile arrived: what a user perceives as "the map is
  // there" (the first idle also waits for every other tile of the view).
  const onParcelTile = (e) => {
    if (e.sourceId !== 'dltb' || !e.tile) return;
    map.off('sourcedata', onParcelTile);
    map.once('render', () => { onemap.timings.firstParcels = performance.now(); });
  };
  map.on('sourcedata', onParcelTile);
  map.addControl(new NavigationControl({ visualizePitch: false }), 'top-right');
  map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-right');

  const styleLayers = styleLayersByCatalogId(style);
  const catalogById = new Map(catalog.map((l) => [l.id, l]));
  const landUseIds = catalog.filter((l) => l.class_field).map((l) => l.id);
  const legend = document.getElementById('legend');
  const model = new LayerModel(catalog, styleLayers, style);
  onemap.layers = model;

  await map.once('load');
  onemap.timings.styleLoad = performance.now();
  const measure = enableMeasure(map, {
    distance: document.getElementById('measure-distance'),
    area: document.getElementById('measure-area'),
    centre: document.getElementById('measure-centre'),
    clear: document.getElementById('measure-clear'),
    output: document.getElementById('measure-result'),
  });
  onemap.measure = measure;
  model.attach(map);
  applyLabelLanguage(map, style, currentLang());
  // Measuring, picking and drawing a trend zone own map clicks while they are on.
  const busy = () => measure.mode !== null || Boolean(onemap.trends?.picking) || Boolean(onemap.trends?.drawing);
  const inspect = enableInspect(map, catalogById, landClasses, styleLayers, { busy });
  // The legend is only meaningful while some land-use layer is shown.
  const updateLegend = () => {
    legend.hidden = !landUseIds.some((id) => model.get(id)?.visible);
  };
  const onToggle = () => {
    updateLegend();
    // The popup may describe a feature that is no longer drawn.
    inspect.close();
  };
  document.getElementById('inspect-centre').addEventListener('click', () => inspect.inspectCentre());
  onemap.inspect = inspect;
  const panel = renderLayersPanel(document.getElementById('layer-groups'), map, model, onToggle);
  renderLegend(document.getElementById('legend-body'), landClasses);
  updateLegend();
  onemap.search = enableSearch(document.getElementById('search'), map, catalogById);

  if (catalog.some((l) => layerYears(l).length > 1)) {
    const compare = createCompare({
      map,
      model,
      style,
      area: document.getElementById('map-area'),
      transformRequest,
      // The right side answers clicks with its own year's attributes.
      setup: (second) => {
        applyLabelLanguage(second, style, currentLang());
        onemap.compareChanges?.apply(second);
        const secondInspect = enableInspect(second, catalogById, landClasses, styleLayers, { busy });
        return () => secondInspect.remove();
      },
    });
    onemap.compare = compare;
    const select = document.getElementById('compare-year');
    select.replaceChildren(...compare.years.map((y) => Object.assign(document.createElement('option'), { value: y, textContent: y })));
    select.addEventListener('change', () => compare.setYear(Number(select.value)));
    compare.setYear(Number(select.value));
    // The change parcels between the left and the right year, on both maps.
    const landUse = catalog.find((l) => l.class_field && layerYears(l).length > 1);
    if (landUse) {
      onemap.compareChanges = enableCompareChanges({
        map, compare, model, landUse,
        checkbox: document.getElementById('compare-changes'),
        status: document.getElementById('compare-changes-status'),
      });
      select.addEventListener('change', () => onemap.compareChanges.refresh());
    } else {
      document.getElementById('compare-changes').closest('label').hidden = true;
    }
    const button = document.getElementById('compare-toggle');
    button.addEventListener('click', () => {
      if (compare.active) compare.close(); else compare.open();
      button.setAttribute('aria-pressed', String(compare.active));
    });
    for (const radio of document.querySelectorAll('input[name="compare-mode"]')) {
      radio.addEventListener('change', () => { if (radio.checked) compare.setMode(radio.value); });
    }
    document.getElementById('compare').hidden = false;
  }
  onemap.trends = createTrends({
    map,
    catalog,
    landClasses,
    styleLayers,
    style,
    controls: document.getElementById('trends'),
    results: document.getElementById('trends-results'),
    beforeDraw: () => measure.stop(),
  });
  // Measuring and drawing a zone both take map clicks: starting one ends the other.
  for (const id of ['measure-distance', 'measure-area']) {
    document.getElementById(id).addEventListener('click', () => { if (measure.mode) onemap.trends.draw?.cancel(); });
  }
  onemap.enforcement = createEnforcement({
    map, catalog, landClasses, section: document.getElementById('enforcement'),
  });
  // Signed-in users only: the clue ledger list and its map layer.
  onemap.ledger = createLedger({ map, section: document.getElementById('ledger'), auth: onemap.auth });
  onLangChange((lang) => {
    applyLabelLanguage(map, style, lang);
    if (onemap.compare?.map) applyLabelLanguage(onemap.compare.map, style, lang);
    panel.render();
    renderLegend(document.getElementById('legend-body'), landClasses);
  });

  await firstIdle;
}

onemap.ready = start().catch((err) => {
  showError(err);
  throw err;
});
