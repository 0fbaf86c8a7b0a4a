// Measure a distance or an area: pick the tool, click points on the map (or, from the
// keyboard, add the point under the map centre), read the geodesic result. While a tool is on,
// clicks measure instead of opening the attribute popup.
import { tr } from './i18n.js';
import { lineLength, ringArea, formatDistance, formatAreaM2 } from './geodesy.js';
import { OVERLAY_PREFIX } from './layers.js';

const SOURCE = `${OVERLAY_PREFIX}measure`;
const COLOR = '#D55E00'; // Okabe–Ito vermillion: visible on every land class colour

function geojson(mode, points) {
  const features = points.map((p) => ({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: p } }));
  if (points.length >= 2) {
    const line = mode === 'area' && points.length >= 3 ? [...points, points[0]] : points;
    features.push({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: line } });
  }
  if (mode === 'area' && points.length >= 3) {
    features.push({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[...points, points[0]]] } });
  }
  return { type: 'FeatureCollection', features };
}

/**
 * @param {object} map the main map (style loaded)
 * @param {{ distance: HTMLButtonElement, area: HTMLButtonElement, centre: HTMLButtonElement,
 *   clear: HTMLButtonElement, output: HTMLElement }} ui
 */
export function enableMeasure(map, ui) {
  map.addSource(SOURCE, { type: 'geojson', data: geojson(null, []) });
  map.addLayer({ id: `${SOURCE}-fill`, type: 'fill', source: SOURCE, filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': COLOR, 'fill-opacity': 0.15 } });
  map.addLayer({ id: `${SOURCE}-line`, type: 'line', source: SOURCE, filter: ['==', ['geometry-type'], 'LineString'], paint: { 'line-color': COLOR, 'line-width': 2, 'line-dasharray': [2, 1] } });
  map.addLayer({ id: `${SOURCE}-points`, type: 'circle', source: SOURCE, filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-color': '#fff', 'circle-stroke-color': COLOR, 'circle-stroke-width': 2, 'circle-radius': 4 } });

  const ctl = {
    mode: null,
    points: [],
    meters: null,
    squareMeters: null,
    start, stop, addPoint, clear,
  };

  function render() {
    map.getSource(SOURCE).setData(geojson(ctl.mode, ctl.points));
    ctl.meters = ctl.points.length >= 2 ? lineLength(ctl.points) : null;
    ctl.squareMeters = ctl.mode === 'area' && ctl.points.length >= 3 ? ringArea(ctl.points) : null;
    let text;
    if (!ctl.mode) text = '';
    else if (ctl.mode === 'distance') {
      text = ctl.meters === null ? tr('在地图上点击至少两个点', 'Click at least two points on the map')
        : `${tr('距离', 'Distance')}: ${formatDistance(ctl.meters)}`;
    } else {
      text = ctl.squareMeters === null ? tr('在地图上点击至少三个点', 'Click at least three points on the map')
        : `${tr('面积', 'Area')}: ${formatAreaM2(ctl.squareMeters)} · ${tr('周长', 'Perimeter')}: ${formatDistance(lineLength([...ctl.points, ctl.points[0]]))}`;
    }
    ui.output.textContent = text;
    ui.distance.setAttribute('aria-pressed', String(ctl.mode === 'distance'));
    ui.area.setAttribute('aria-pressed', String(ctl.mode === 'area'));
    ui.centre.disabled = !ctl.mode;
    ui.clear.disabled = !ctl.mode && ctl.points.length === 0;
    map.getCanvas().style.cursor = ctl.mode ? 'crosshair' : '';
  }

  function start(mode) {
    ctl.mode = mode;
    ctl.points = [];
    map.doubleClickZoom.disable();
    render();
  }

  function stop() {
    ctl.mode = null;
    map.doubleClickZoom.enable();
    render();
  }

  function addPoint(lngLat) {
    if (!ctl.mode) return;
    ctl.points.push([Number(lngLat[0]), Number(lngLat[1])]);
    render();
  }

  function clear() {
    ctl.points = [];
    stop();
  }

  const toggle = (mode) => () => (ctl.mode === mode ? stop() : start(mode));
  ui.distance.addEventListener('click', toggle('distance'));
  ui.area.addEventListener('click', toggle('area'));
  ui.centre.addEventListener('click', () => addPoint(map.getCenter().toArray()));
  ui.clear.addEventListener('click', clear);
  map.on('click', (e) => addPoint(e.lngLat.toArray()));
  render();
  return ctl;
}
