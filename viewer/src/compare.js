// Comparing two years with a swipe divider: a second MapLibre map over the main one, built
// from the same style and the same LayerModel (so visibility, opacity and order follow the
// panel), showing another year of the versioned layers. It is clipped to the right of a
// draggable, keyboard-operable divider; both maps follow each other's camera. The second map
// exists only while comparing, so the normal view costs nothing.
import { Map as MapLibreMap } from 'maplibre-gl';
import { onLangChange, tr } from './i18n.js';
import { layerYears } from './layers.js';

const KEY_STEP = 0.02;
const KEY_STEP_LARGE = 0.1;

/**
 * @param {object} opts
 * @param {HTMLElement} opts.area element holding the main map container; the second map and
 *   the divider are added inside it
 * @param {(second: object) => (() => void)} [opts.setup] wires extras (click-inspect) on the
 *   second map once loaded; returns their teardown
 * @param {Function} [opts.transformRequest] MapLibre's, adding our credentials
 * @returns the compare controller (also exposed as window.onemap.compare)
 */
export function createCompare({ map, model, style, area, setup, transformRequest }) {
  const versioned = model.catalog.filter((l) => layerYears(l).length > 1);
  const years = [...new Set(versioned.flatMap(layerYears))].sort((a, b) => a - b);

  const container = Object.assign(document.createElement('div'), { id: 'compare-map', hidden: true });
  const divider = Object.assign(document.createElement('div'), { id: 'swipe-divider', hidden: true, tabIndex: 0 });
  divider.setAttribute('role', 'separator');
  divider.setAttribute('aria-orientation', 'vertical');
  divider.setAttribute('aria-valuemin', '0');
  divider.setAttribute('aria-valuemax', '100');
  divider.setAttribute('aria-controls', 'compare-map');
  divider.append(Object.assign(document.createElement('span'), { className: 'swipe-handle', ariaHidden: 'true', textContent: '⇔' }));
  const leftBadge = Object.assign(document.createElement('div'), { className: 'compare-badge left', hidden: true });
  const rightBadge = Object.assign(document.createElement('div'), { className: 'compare-badge right', hidden: true });
  area.append(container, divider, leftBadge, rightBadge);

  const ctl = {
    map: null,
    position: 0.5,
    years,
    yearB: years[0] ?? null,
    active: false,
    ready: Promise.resolve(),
    mode: 'swipe',
    open, close, setPosition, setYear, setMode,
    /** The year the left (main) map shows for the first versioned layer. */
    get yearA() { return versioned.length ? model.get(versioned[0].id).year : null; },
  };

  const yearFor = (id, year) => {
    const layer = model.byId.get(id);
    return layerYears(layer).includes(ctl.yearB) ? ctl.yearB : year;
  };

  function labels() {
    divider.setAttribute('aria-label', tr(`对比分隔线：左 ${ctl.yearA}，右 ${ctl.yearB}`,
      `Swipe divider: left ${ctl.yearA}, right ${ctl.yearB}`));
    leftBadge.textContent = String(ctl.yearA ?? '');
    rightBadge.textContent = String(ctl.yearB ?? '');
  }

  function setPosition(fraction) {
    ctl.position = Math.min(1, Math.max(0, fraction));
    const pct = ctl.position * 100;
    container.style.clipPath = `inset(0 0 0 ${pct}%)`;
    divider.style.left = `${pct}%`;
    divider.setAttribute('aria-valuenow', String(Math.round(pct)));
    divider.setAttribute('aria-valuetext', `${Math.round(pct)}%`);
  }

  /** 'swipe' (one view, divider) or 'side' (two half-width views side by side). */
  function setMode(mode) {
    ctl.mode = mode === 'side' ? 'side' : 'swipe';
    area.classList.toggle('compare-side', ctl.active && ctl.mode === 'side');
    divider.hidden = !ctl.active || ctl.mode === 'side';
    map.resize();
    ctl.map?.resize();
    // Same centre in both halves: each shows the same place.
    if (ctl.map) follow(map, ctl.map)();
  }

  function setYear(year) {
    ctl.yearB = year;
    labels();
    if (ctl.map) model.refreshYears(ctl.map);
  }

  let teardown = null;

  // Each map follows the other; the flag stops the echo of our own jumpTo.
  let syncing = false;
  const follow = (from, to) => () => {
    if (syncing || !to) return;
    syncing = true;
    to.jumpTo({ center: from.getCenter(), zoom: from.getZoom(), bearing: from.getBearing(), pitch: from.getPitch() });
    syncing = false;
  };
  const mainMoved = () => follow(map, ctl.map)();
  map.on('move', mainMoved);

  function open() {
    if (ctl.active) return ctl.ready;
    ctl.active = true;
    container.hidden = false;
    divider.hidden = false;
    leftBadge.hidden = false;
    rightBadge.hidden = false;
    setPosition(ctl.position);
    labels();
    area.classList.toggle('compare-side', ctl.mode === 'side');
    divider.hidden = ctl.mode === 'side';
    map.resize();
    const second = new MapLibreMap({
      container,
      style: structuredClone(style),
      center: map.getCenter(),
      zoom: map.getZoom(),
      bearing: map.getBearing(),
      pitch: map.getPitch(),
      attributionControl: false,
      transformRequest,
    });
    ctl.map = second;
    second.on('move', follow(second, map));
    ctl.ready = second.once('load').then(() => {
      if (ctl.map !== second) return;
      model.attach(second, { yearFor });
      teardown = setup?.(second);
      return second.once('idle');
    });
    return ctl.ready;
  }

  function close() {
    if (!ctl.active) return;
    ctl.active = false;
    teardown?.();
    teardown = null;
    if (ctl.map) {
      model.detach(ctl.map);
      ctl.map.remove();
      ctl.map = null;
    }
    container.hidden = true;
    divider.hidden = true;
    leftBadge.hidden = true;
    rightBadge.hidden = true;
    area.classList.remove('compare-side');
    map.resize();
  }

  // The main map's year may change while comparing: the left badge follows.
  model.onChange((id, what) => { if (what === 'year' && ctl.active) labels(); });
  onLangChange(labels);

  divider.addEventListener('keydown', (e) => {
    const step = e.shiftKey ? KEY_STEP_LARGE : KEY_STEP;
    const moves = {
      ArrowLeft: ctl.position - step, ArrowDown: ctl.position - step,
      ArrowRight: ctl.position + step, ArrowUp: ctl.position + step, Home: 0, End: 1,
    };
    if (!(e.key in moves)) return;
    e.preventDefault();
    setPosition(moves[e.key]);
  });
  divider.addEventListener('pointerdown', (e) => {
    divider.setPointerCapture(e.pointerId);
    divider.focus();
  });
  divider.addEventListener('pointermove', (e) => {
    if (!divider.hasPointerCapture(e.pointerId)) return;
    const rect = area.getBoundingClientRect();
    setPosition((e.clientX - rect.left) / rect.width);
  });

  setPosition(ctl.position);
  return ctl;
}
