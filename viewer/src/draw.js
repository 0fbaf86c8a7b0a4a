// Drawing a polygon on the map, for an ad-hoc trend zone: click its vertices, then double-click
// (or press Enter, or the finish button) to close it; Escape (or the cancel button) drops it;
// Backspace takes back the last vertex. Keyboard users pan the map (arrow keys on the focused
// map) and add the point under the map centre. The polygon comes out as a GeoJSON Polygon in
// EPSG:4326 longitude/latitude with its ring closed, as the trends API takes it.
import { OVERLAY_PREFIX } from './layers.js';
import { ringArea } from './geodesy.js';

const SOURCE = `${OVERLAY_PREFIX}draw`;
const COLOR = '#0072B2'; // Okabe–Ito blue: apart from the measuring tool's vermillion

function geojson(points) {
  const features = points.map((p) => ({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: p } }));
  if (points.length >= 2) {
    const line = points.length >= 3 ? [...points, points[0]] : points;
    features.push({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: line } });
  }
  if (points.length >= 3) {
    features.push({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[...points, points[0]]] } });
  }
  return { type: 'FeatureCollection', features };
}

/** `points` without consecutive repeats (the two clicks of a double-click land on one spot). */
function dedupe(points) {
  return points.filter((p, i) => i === 0 || p[0] !== points[i - 1][0] || p[1] !== points[i - 1][1]);
}

// Enter on these does their own thing (press a button, submit a form); the drawing leaves it.
const OWN_ENTER = new Set(['BUTTON', 'INPUT', 'SELECT', 'TEXTAREA', 'A', 'SUMMARY']);

/**
 * @param {object} map
 * @param {object} hooks
 * @param {(polygon: object, areaM2: number) => void} hooks.onFinish a closed polygon was drawn
 * @param {() => void} [hooks.onCancel]
 * @param {(ctl: object) => void} [hooks.onChange] after every start, vertex, undo and end
 */
export function createPolygonDraw(map, { onFinish, onCancel = () => {}, onChange = () => {} }) {
  const ctl = {
    active: false,
    points: [],
    start, addPoint, addCentre, undo, finish, cancel,
    /** Square metres of the polygon drawn so far (geodesic), or null under three vertices. */
    get areaM2() { return ctl.points.length >= 3 ? ringArea(ctl.points) : null; },
  };

  function ensureLayers() {
    if (map.getSource(SOURCE)) return;
    map.addSource(SOURCE, { type: 'geojson', data: geojson([]) });
    map.addLayer({ id: `${SOURCE}-fill`, type: 'fill', source: SOURCE, filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': COLOR, 'fill-opacity': 0.15 } });
    map.addLayer({ id: `${SOURCE}-line`, type: 'line', source: SOURCE, filter: ['==', ['geometry-type'], 'LineString'], paint: { 'line-color': COLOR, 'line-width': 2, 'line-dasharray': [2, 1] } });
    map.addLayer({ id: `${SOURCE}-points`, type: 'circle', source: SOURCE, filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-color': '#fff', 'circle-stroke-color': COLOR, 'circle-stroke-width': 2, 'circle-radius': 4 } });
  }

  function render() {
    map.getSource(SOURCE)?.setData(geojson(ctl.active ? ctl.points : []));
    map.getCanvas().style.cursor = ctl.active ? 'crosshair' : '';
    onChange(ctl);
  }

  function start() {
    ensureLayers();
    ctl.active = true;
    ctl.points = [];
    map.doubleClickZoom.disable();
    render();
  }

  function end() {
    ctl.active = false;
    map.doubleClickZoom.enable();
    render();
  }

  function addPoint(lngLat) {
    if (!ctl.active) return;
    ctl.points.push([Number(lngLat[0]), Number(lngLat[1])]);
    render();
  }

  function addCentre() { addPoint(map.getCenter().toArray()); }

  function undo() {
    if (!ctl.active) return;
    ctl.points.pop();
    render();
  }

  /** Closes the polygon; returns it, or null (and keeps drawing) under three distinct vertices. */
  function finish() {
    if (!ctl.active) return null;
    const points = dedupe(ctl.points);
    if (points.length >= 2 && points[0][0] === points.at(-1)[0] && points[0][1] === points.at(-1)[1]) points.pop();
    if (points.length < 3) {
      ctl.points = points;
      render();
      return null;
    }
    const polygon = { type: 'Polygon', coordinates: [[...points, points[0]]] };
    const area = ringArea(points);
    ctl.points = [];
    end();
    onFinish(polygon, area);
    return polygon;
  }

  function cancel() {
    if (!ctl.active) return;
    ctl.points = [];
    end();
    onCancel();
  }

  map.on('click', (e) => addPoint(e.lngLat.toArray()));
  map.on('dblclick', (e) => {
    if (!ctl.active) return;
    e.preventDefault();
    finish();
  });
  document.addEventListener('keydown', (e) => {
    if (!ctl.active) return;
    if (e.key === 'Escape') {
      e.preventDefault();
      cancel();
    } else if (e.key === 'Enter' && !OWN_ENTER.has(e.target?.tagName)) {
      e.preventDefault();
      finish();
    } else if (e.key === 'Backspace' && !OWN_ENTER.has(e.target?.tagName)) {
      e.preventDefault();
      undo();
    }
  });
  return ctl;
}
