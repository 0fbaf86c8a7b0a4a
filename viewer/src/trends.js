// Trends in a zone: pick a zone feature on the map (or the one under the map centre), or draw a
// polygon of your own (draw.js; its figures come from the POST forms of the same routes), then see
// the area of each land class over the survey years as a stacked bar chart, the transition
// matrix between two chosen years with gains, losses and net change, and the change parcels
// between those years highlighted on the map. Series and matrix export as CSV (the server's
// own format=csv answers), the chart as PNG.
//
// Colours: the bars use the GB/T 21010 land-class colours, the same as the map and its
// legend, so a class reads the same everywhere. Those colours are not safe for colour-blind
// readers, so colour is never the only cue: segments are separated by white lines, the legend
// lists classes in stacking order, every segment has a tooltip with class and value, and the
// numbers are in the table below. Where the chart itself encodes a sign (gains and losses, the
// change parcels on the map), the Okabe–Ito pair blue/vermillion from palette.js is used,
// which stays distinct under protanopia, deuteranopia and tritanopia.
//
// A drawn zone is sent as a GeoJSON Polygon (EPSG:4326) in the body of
// `POST /api/trends/area`, `/api/trends/transitions` and `/api/changes` (CSV export), whose
// answers have the GET forms' shape.
import { getBlob, getJson, postBlob, postJson } from './api.js';
import { createPolygonDraw } from './draw.js';
import { formatAreaM2 } from './geodesy.js';
import { stackedBarChart, svgToPng, saveBlob } from './chart.js';
import { tr, onLangChange } from './i18n.js';
import { layerYears, OVERLAY_PREFIX } from './layers.js';
import { LAYER_KEY } from './style-layers.js';
import { CHART_PALETTE } from './palette.js';

const GAIN = CHART_PALETTE[4]; // Okabe–Ito blue
const LOSS = CHART_PALETTE[5]; // Okabe–Ito vermillion
const CHANGES_SOURCE = `${OVERLAY_PREFIX}changes`;
const CHANGES_FILL = `${OVERLAY_PREFIX}changes-fill`;
const CHANGES_LINE = `${OVERLAY_PREFIX}changes-line`;
const ZONE_LINE = `${OVERLAY_PREFIX}zone-line`;
const DRAWN_SOURCE = `${OVERLAY_PREFIX}drawn-zone`;

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c != null));
  return node;
}

const km2 = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 1 });
const ha = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 2 });
const fmtHa = (m2) => ha.format(m2 / 1e4);
const signedHa = (m2) => `${m2 > 0 ? '+' : m2 < 0 ? '−' : ''}${ha.format(Math.abs(m2) / 1e4)}`;

/**
 * @param {object} o
 * @param {object} o.map the main map
 * @param {object[]} o.catalog
 * @param {object[]} o.landClasses
 * @param {Map<string, string[]>} o.styleLayers catalog id -> style layer ids
 * @param {object} o.style the style as fetched (for source-layer names)
 * @param {HTMLElement} o.controls the side panel section
 * @param {HTMLElement} o.results the results panel over the map
 * @param {() => void} [o.beforeDraw] called when drawing starts (stops the measuring tool)
 */
export function createTrends({ map, catalog, landClasses, styleLayers, style, controls, results, beforeDraw = () => {} }) {
  const landUse = catalog.find((l) => l.class_field && layerYears(l).length > 1);
  const zoneLayers = catalog.filter((l) => l.geometry_type === 'polygon' && !l.class_field
    && (styleLayers.get(l.id) ?? []).length > 0);
  const classByCode = new Map(landClasses.map((c) => [c.code, c]));
  const years = landUse ? layerYears(landUse) : [];
  const sourceLayerOf = (id) => (style.layers ?? []).find((l) => l.metadata?.[LAYER_KEY] === id)?.['source-layer'] ?? id;

  const ctl = {
    picking: false,
    // { layer, key, fid, name } for a zone feature; { drawn: true, geometry, area_m2, name } for a drawn one
    zone: null,
    level: 1,
    from: years[0] ?? null,
    to: years.at(-1) ?? null,
    series: null,
    matrix: null,
    ready: Promise.resolve(),
    available: Boolean(landUse && zoneLayers.length),
    pickAt, setZone, setYears, setLevel, close, draw: null,
    /** Whether a polygon is being drawn (map clicks add its vertices). */
    get drawing() { return Boolean(ctl.draw?.active); },
    get svg() { return results.querySelector('svg.stacked-chart'); },
  };
  if (!ctl.available) {
    controls.hidden = true;
    return ctl;
  }

  // --- the side panel controls
  const zoneSelect = controls.querySelector('#trends-zone-layer');
  zoneSelect.replaceChildren(...zoneLayers.map((l) => el('option', { value: l.id, textContent: tr(l.title_zh ?? l.title, l.title_en) })));
  zoneSelect.value = zoneLayers.some((l) => l.id === 'reserve_zones') ? 'reserve_zones' : zoneLayers[0].id;
  const pickButton = controls.querySelector('#trends-pick');
  const centreButton = controls.querySelector('#trends-centre');
  const status = controls.querySelector('#trends-status');
  const say = (text) => { status.textContent = text; };

  const setPicking = (on) => {
    if (on) ctl.draw.cancel();
    ctl.picking = on;
    pickButton.setAttribute('aria-pressed', String(on));
    map.getCanvas().style.cursor = on ? 'crosshair' : '';
    if (on) say(tr('点击地图上的区域要素', 'Click a zone feature on the map'));
  };
  pickButton.addEventListener('click', () => setPicking(!ctl.picking));
  centreButton.addEventListener('click', () => {
    const { width, height } = map.getCanvas().getBoundingClientRect();
    pickAt([width / 2, height / 2]);
  });
  map.on('click', (e) => {
    if (!ctl.picking) return;
    pickAt([e.point.x, e.point.y]);
  });

  // --- drawing a zone
  const drawButton = controls.querySelector('#trends-draw');
  const drawCentre = controls.querySelector('#trends-draw-centre');
  const drawFinish = controls.querySelector('#trends-draw-finish');
  const drawCancel = controls.querySelector('#trends-draw-cancel');
  let drawCount = 0;
  ctl.draw = createPolygonDraw(map, {
    onFinish: (geometry, area) => {
      drawCount += 1;
      setZone({
        drawn: true,
        geometry,
        area_m2: area,
        name: `${tr('自绘区域', 'Drawn zone')} ${drawCount} (${km2.format(area / 1e6)} km²)`,
      });
    },
    onCancel: () => say(tr('已取消绘制', 'Drawing cancelled')),
    onChange: (d) => {
      drawButton.setAttribute('aria-pressed', String(d.active));
      drawCentre.disabled = !d.active;
      drawCancel.disabled = !d.active;
      drawFinish.disabled = !d.active || d.points.length < 3;
      if (d.active) {
        say(d.points.length < 3
          ? tr(`已加 ${d.points.length} 个顶点，至少需要 3 个`, `${d.points.length} corners, at least 3 needed`)
          : tr(`已加 ${d.points.length} 个顶点，面积 ${formatAreaM2(d.areaM2)}；双击或回车完成`,
            `${d.points.length} corners, ${formatAreaM2(d.areaM2)}; double-click or Enter to finish`));
      }
    },
  });
  drawButton.addEventListener('click', () => {
    if (ctl.draw.active) {
      // Pressing it again closes the polygon when it can, else gives up.
      if (!ctl.draw.finish()) ctl.draw.cancel();
      return;
    }
    setPicking(false);
    beforeDraw();
    ctl.draw.start();
  });
  drawCentre.addEventListener('click', () => ctl.draw.addCentre());
  drawFinish.addEventListener('click', () => ctl.draw.finish());
  drawCancel.addEventListener('click', () => ctl.draw.cancel());

  /** Picks the zone layer's feature drawn at canvas pixel `point`; returns the zone or null. */
  function pickAt(point) {
    const layerId = zoneSelect.value;
    const ids = (styleLayers.get(layerId) ?? []).filter((id) => map.getLayer(id));
    // Hidden layers are not queryable: show the zone layer while picking from it.
    const hit = ids.length ? map.queryRenderedFeatures(point, { layers: ids })[0] : null;
    setPicking(false);
    if (!hit) {
      say(tr('此处没有该图层的区域，请先打开图层或移动地图', 'No zone of that layer here: show the layer or move the map'));
      return null;
    }
    const p = hit.properties ?? {};
    const zone = {
      layer: layerId,
      key: hit.id !== undefined && hit.id !== null ? String(hit.id) : String(p.name ?? p.MC ?? ''),
      fid: hit.id,
      name: tr(p.name ?? p.MC ?? p.XZQMC, p.name_en) || String(hit.id),
    };
    setZone(zone);
    return zone;
  }

  // --- the results panel
  const heading = results.querySelector('#trends-title');
  const levelSelect = results.querySelector('#trends-level');
  const fromSelect = results.querySelector('#trends-from');
  const toSelect = results.querySelector('#trends-to');
  for (const s of [fromSelect, toSelect]) {
    s.replaceChildren(...years.map((y) => el('option', { value: y, textContent: y })));
  }
  fromSelect.value = String(ctl.from);
  toSelect.value = String(ctl.to);
  levelSelect.addEventListener('change', () => setLevel(Number(levelSelect.value)));
  fromSelect.addEventListener('change', () => setYears(Number(fromSelect.value), ctl.to));
  toSelect.addEventListener('change', () => setYears(ctl.from, Number(toSelect.value)));
  const chartBox = results.querySelector('#trends-chart');
  const legendBox = results.querySelector('#trends-legend');
  const matrixBox = results.querySelector('#trends-matrix');
  const changesBox = results.querySelector('#trends-changes');
  const resultStatus = results.querySelector('#trends-result-status');
  const highlight = results.querySelector('#trends-highlight');
  results.querySelector('#trends-close').addEventListener('click', close);
  highlight.addEventListener('change', () => showChanges());

  // A drawn zone travels in the body; a zone feature by its layer and key.
  const query = (extra = {}) => {
    const zone = ctl.zone.drawn ? {} : { zone_layer: ctl.zone.layer, zone: ctl.zone.key };
    const q = new URLSearchParams({ layer: landUse.id, ...zone, level: String(ctl.level), ...extra });
    return q.toString();
  };
  const fetchJson = (path) => (ctl.zone.drawn ? postJson(path, ctl.zone.geometry) : getJson(path));
  const fetchBlob = (path) => (ctl.zone.drawn ? postBlob(path, ctl.zone.geometry) : getBlob(path));
  const fileBase = () => (ctl.zone.drawn ? `${landUse.id}_drawn_L${ctl.level}` : `${landUse.id}_${ctl.zone.layer}_${ctl.zone.key}_L${ctl.level}`);
  results.querySelector('#trends-series-csv').addEventListener('click', async () => {
    saveBlob(await fetchBlob(`/api/trends/area?${query({ format: 'csv' })}`), `${fileBase()}_area.csv`);
  });
  results.querySelector('#trends-matrix-csv').addEventListener('click', async () => {
    saveBlob(await fetchBlob(`/api/trends/transitions?${query({ from: ctl.from, to: ctl.to, format: 'csv' })}`),
      `${fileBase()}_${ctl.from}-${ctl.to}_transitions.csv`);
  });
  results.querySelector('#trends-changes-csv').addEventListener('click', async () => {
    saveBlob(await fetchBlob(`/api/changes?${query({ from: ctl.from, to: ctl.to, format: 'csv' })}`),
      `${fileBase()}_${ctl.from}-${ctl.to}_changes.csv`);
  });
  results.querySelector('#trends-png').addEventListener('click', async () => {
    if (ctl.svg) saveBlob(await svgToPng(ctl.svg), `${fileBase()}_area.png`);
  });

  const className = (code) => {
    const c = classByCode.get(code);
    return c ? `${code} ${tr(c.name_zh, c.name_en)}` : code;
  };
  const classColor = (code) => classByCode.get(code)?.color ?? '#bdbdbd';

  function setZone(zone) {
    ctl.zone = zone;
    say(`${tr('区域', 'Zone')}: ${zone.name}`);
    results.hidden = false;
    document.getElementById('map-area').classList.add('trends-open');
    return refresh();
  }
  function setYears(from, to) {
    ctl.from = from;
    ctl.to = to;
    fromSelect.value = String(from);
    toSelect.value = String(to);
    if (!ctl.zone) return Promise.resolve();
    ctl.ready = loadMatrix().then(showChanges);
    return ctl.ready;
  }
  function setLevel(level) {
    ctl.level = level === 2 ? 2 : 1;
    levelSelect.value = String(ctl.level);
    return ctl.zone ? refresh() : Promise.resolve();
  }
  function close() {
    results.hidden = true;
    document.getElementById('map-area').classList.remove('trends-open');
    ctl.zone = null;
    removeOverlays();
    say('');
  }

  function removeOverlays() {
    for (const id of [CHANGES_FILL, CHANGES_LINE, ZONE_LINE]) if (map.getLayer(id)) map.removeLayer(id);
    for (const id of [CHANGES_SOURCE, DRAWN_SOURCE]) if (map.getSource(id)) map.removeSource(id);
  }

  function refresh() {
    heading.textContent = `${tr('区域趋势', 'Zone trends')}: ${ctl.zone.name}`;
    resultStatus.textContent = tr('加载中…', 'Loading…');
    ctl.ready = Promise.all([loadSeries(), loadMatrix()])
      .then(showChanges)
      .then(() => { resultStatus.textContent = ''; })
      .catch((err) => {
        resultStatus.textContent = `${tr('加载失败', 'Failed to load')}: ${err.message}`;
        throw err;
      });
    return ctl.ready;
  }

  async function loadSeries() {
    const zone = ctl.zone;
    const series = await fetchJson(`/api/trends/area?${query()}`);
    if (ctl.zone !== zone) return;
    ctl.series = series;
    drawChart();
  }

  function drawChart() {
    const { series } = ctl.series;
    const byKey = new Map(series.map((p) => [`${p.year}|${p.class}`, p.area_m2]));
    const ys = [...new Set(series.map((p) => p.year))].sort((a, b) => a - b);
    // Biggest classes at the bottom: the stack reads from its steady base upwards.
    const total = new Map();
    for (const p of series) total.set(p.class, (total.get(p.class) ?? 0) + p.area_m2);
    const classes = [...total.keys()].sort((a, b) => total.get(b) - total.get(a) || a.localeCompare(b));
    const svg = stackedBarChart({
      years: ys,
      classes,
      value: (y, c) => byKey.get(`${y}|${c}`) ?? 0,
      color: classColor,
      label: className,
      format: (v) => km2.format(v),
      unitLabel: 'km²',
      title: `${tr('各地类面积', 'Area by land class')} · ${ctl.zone.name}`,
    });
    chartBox.replaceChildren(svg);
    // Legend in stacking order, top of the stack first (as the eye meets it).
    legendBox.replaceChildren(...[...classes].reverse().map((c) => el('li', {},
      el('span', { className: 'swatch', ariaHidden: 'true', style: `background:${classColor(c)}` }),
      className(c))));
  }

  async function loadMatrix() {
    const zone = ctl.zone;
    const matrix = await fetchJson(`/api/trends/transitions?${query({ from: ctl.from, to: ctl.to })}`);
    if (ctl.zone !== zone) return;
    ctl.matrix = matrix;
    drawMatrix();
  }

  function drawMatrix() {
    const { cells, classes, from, to } = ctl.matrix;
    const codes = classes.map((c) => c.class);
    const cell = new Map(cells.map((c) => [`${c.from_class}|${c.to_class}`, c.area_m2]));
    const caption = el('caption', {
      textContent: tr(`${from} → ${to} 地类转移（公顷）：行为 ${from} 年地类，列为 ${to} 年地类`,
        `${from} → ${to} transitions (ha): rows ${from} class, columns ${to} class`),
    });
    const head = el('tr', {}, el('th', { scope: 'col', textContent: `${from} \\ ${to}` }),
      ...codes.map((c) => el('th', { scope: 'col', textContent: c, title: className(c) })));
    const rows = codes.map((f) => el('tr', {},
      el('th', { scope: 'row', textContent: className(f) }),
      ...codes.map((t) => {
        const v = cell.get(`${f}|${t}`) ?? 0;
        const td = el('td', { textContent: v ? fmtHa(v) : '' });
        td.dataset.from = f;
        td.dataset.to = t;
        td.dataset.areaM2 = String(v);
        if (f === t && v) td.className = 'persistence';
        else if (v) td.className = 'transition';
        return td;
      })));
    const matrixTable = el('table', { className: 'matrix' }, caption, el('thead', {}, head), el('tbody', {}, ...rows));

    const summaryHead = el('tr', {}, ...[
      tr('地类', 'Class'), `${from}`, `${to}`, tr('增加', 'Gains'), tr('减少', 'Losses'), tr('净变化', 'Net'),
    ].map((t) => el('th', { scope: 'col', textContent: t })));
    const summaryRows = classes.map((c) => {
      const tr_ = el('tr', {}, el('th', { scope: 'row', textContent: className(c.class) }),
        el('td', { textContent: fmtHa(c.from_m2) }),
        el('td', { textContent: fmtHa(c.to_m2) }),
        el('td', { className: c.gain_m2 ? 'gain' : '', textContent: c.gain_m2 ? `+${fmtHa(c.gain_m2)}` : '0' }),
        el('td', { className: c.loss_m2 ? 'loss' : '', textContent: c.loss_m2 ? `−${fmtHa(c.loss_m2)}` : '0' }),
        el('td', { className: c.net_m2 > 0 ? 'gain' : c.net_m2 < 0 ? 'loss' : '', textContent: signedHa(c.net_m2) }));
      tr_.dataset.class = c.class;
      tr_.dataset.gainM2 = String(c.gain_m2);
      tr_.dataset.lossM2 = String(c.loss_m2);
      tr_.dataset.netM2 = String(c.net_m2);
      return tr_;
    });
    const summary = el('table', { className: 'gains-losses' },
      el('caption', { textContent: tr(`${from} → ${to} 增减（公顷）`, `${from} → ${to} gains and losses (ha)`) }),
      el('thead', {}, summaryHead), el('tbody', {}, ...summaryRows));
    summary.style.setProperty('--gain', GAIN);
    summary.style.setProperty('--loss', LOSS);
    matrixBox.replaceChildren(el('div', { className: 'matrix-scroll' }, summary), el('div', { className: 'matrix-scroll' }, matrixTable));
  }

  /** The change tiles between the chosen years, and the zone's outline, over the map. */
  function showChanges() {
    removeOverlays();
    if (!ctl.zone) return;
    if (ctl.zone.drawn) {
      map.addSource(DRAWN_SOURCE, { type: 'geojson', data: { type: 'Feature', properties: {}, geometry: ctl.zone.geometry } });
      map.addLayer({
        id: ZONE_LINE, type: 'line', source: DRAWN_SOURCE,
        paint: { 'line-color': '#000000', 'line-width': 3, 'line-dasharray': [3, 1.5] },
      });
    } else if (map.getSource(ctl.zone.layer) && ctl.zone.fid !== undefined && ctl.zone.fid !== null) {
      map.addLayer({
        id: ZONE_LINE, type: 'line', source: ctl.zone.layer, 'source-layer': sourceLayerOf(ctl.zone.layer),
        filter: ['==', ['id'], ctl.zone.fid],
        paint: { 'line-color': '#000000', 'line-width': 3, 'line-dasharray': [3, 1.5] },
      });
    }
    const cells = ctl.matrix?.cells ?? [];
    const changed = cells.filter((c) => c.from_class !== c.to_class);
    changesBox.textContent = changed.length
      ? tr(`${ctl.from}→${ctl.to} 该区域内变化面积 ${fmtHa(changed.reduce((s, c) => s + c.area_m2, 0))} 公顷`,
        `${ctl.from}→${ctl.to}: ${fmtHa(changed.reduce((s, c) => s + c.area_m2, 0))} ha changed in this zone`)
      : tr('两年之间该区域内无变化', 'No change in this zone between the two years');
    if (!highlight.checked || ctl.from === ctl.to) return;
    const q = new URLSearchParams({ layer: landUse.id, from: String(ctl.from), to: String(ctl.to) });
    map.addSource(CHANGES_SOURCE, {
      type: 'vector',
      tiles: [new URL(`/tiles/changes/{z}/{x}/{y}?${q}`, window.location.href).href.replace(/%7B/g, '{').replace(/%7D/g, '}')],
      minzoom: 0,
      maxzoom: 14,
    });
    // Flagged pieces (prohibited in their reserve zone) in vermillion, the others in blue.
    const colour = ['case', ['to-boolean', ['get', 'flagged']], LOSS, GAIN];
    map.addLayer({
      id: CHANGES_FILL, type: 'fill', source: CHANGES_SOURCE, 'source-layer': 'changes',
      paint: { 'fill-color': colour, 'fill-opacity': 0.35 },
    }, map.getLayer(ZONE_LINE) ? ZONE_LINE : undefined);
    map.addLayer({
      id: CHANGES_LINE, type: 'line', source: CHANGES_SOURCE, 'source-layer': 'changes',
      paint: { 'line-color': colour, 'line-width': 2 },
    }, map.getLayer(ZONE_LINE) ? ZONE_LINE : undefined);
  }

  onLangChange(() => {
    zoneSelect.querySelectorAll('option').forEach((o) => {
      const l = zoneLayers.find((z) => z.id === o.value);
      o.textContent = tr(l.title_zh ?? l.title, l.title_en);
    });
    if (ctl.zone && ctl.series) drawChart();
    if (ctl.zone && ctl.matrix) drawMatrix();
  });
  controls.hidden = false;
  return ctl;
}
