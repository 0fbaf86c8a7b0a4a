// The rectification ledger (线索台账) for signed-in users: the clues of `/api/clues` that the
// caller may see, filtered by status and overdue, as a list linked to the map (activating a
// row flies there) and as a GeoJSON layer drawn from the same list, each clue coloured by
// status (palette.js, colour-blind safe) with overdue clues outlined in black. The public
// never sees the ledger (the API answers 404), so the section stays hidden for them.
import { getJson } from './api.js';
import { tr, onLangChange } from './i18n.js';
import { CLUE_STATUS_COLORS, CLUE_OVERDUE_OUTLINE } from './palette.js';
import { geometryBounds } from './search.js';

export const CLUES_SOURCE = 'ledger-clues';
const STATUSES = [
  ['pending', '待核查', 'Pending'],
  ['verified_problem', '核实为问题', 'Verified: problem'],
  ['verified_no_problem', '核实无问题', 'Verified: no problem'],
  ['rectifying', '整改中', 'Rectifying'],
  ['rectified', '已整改', 'Rectified'],
  ['closed', '已销号', 'Closed'],
];
const ACTIVITIES = {
  mining: ['采矿', 'Mining'],
  construction: ['建设', 'Construction'],
  road: ['道路', 'Road'],
  hydropower: ['水电', 'Hydropower'],
  tourism_facility: ['旅游设施', 'Tourism facility'],
  grazing: ['放牧', 'Grazing'],
  reclamation: ['开垦', 'Reclamation'],
  other: ['其他', 'Other'],
};
const POINT_ZOOM = 14;

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c != null));
  return node;
}

export const statusName = (s) => {
  const row = STATUSES.find(([v]) => v === s);
  return row ? tr(row[1], row[2]) : s;
};
const activityName = (a) => (ACTIVITIES[a] ? tr(...ACTIVITIES[a]) : a);

/** The clues as a FeatureCollection for the map (properties: what the layers style by). */
export function cluesGeoJson(clues) {
  return {
    type: 'FeatureCollection',
    features: clues.filter((c) => c.geometry).map((c) => ({
      type: 'Feature',
      id: c.id,
      properties: { id: c.id, clue_id: c.clue_id, status: c.status, activity: c.activity, overdue: Boolean(c.overdue) },
      geometry: c.geometry,
    })),
  };
}

const statusColor = ['match', ['get', 'status'],
  ...Object.entries(CLUE_STATUS_COLORS).flat(), '#999999'];

function addLayers(map) {
  if (map.getSource(CLUES_SOURCE)) return;
  map.addSource(CLUES_SOURCE, { type: 'geojson', data: cluesGeoJson([]) });
  const polygons = ['==', ['geometry-type'], 'Polygon'];
  map.addLayer({ id: `${CLUES_SOURCE}-fill`, type: 'fill', source: CLUES_SOURCE, filter: polygons, paint: { 'fill-color': statusColor, 'fill-opacity': 0.45 } });
  map.addLayer({
    id: `${CLUES_SOURCE}-line`, type: 'line', source: CLUES_SOURCE, filter: polygons,
    paint: {
      'line-color': ['case', ['get', 'overdue'], CLUE_OVERDUE_OUTLINE, statusColor],
      'line-width': ['case', ['get', 'overdue'], 3, 1.5],
    },
  });
  map.addLayer({
    id: `${CLUES_SOURCE}-point`, type: 'circle', source: CLUES_SOURCE, filter: ['==', ['geometry-type'], 'Point'],
    paint: {
      'circle-color': statusColor,
      'circle-radius': 7,
      'circle-stroke-color': ['case', ['get', 'overdue'], CLUE_OVERDUE_OUTLINE, '#ffffff'],
      'circle-stroke-width': ['case', ['get', 'overdue'], 3, 1.5],
    },
  });
}

/**
 * @param {object} o
 * @param {object} o.map
 * @param {HTMLElement} o.section the side panel section (#ledger)
 * @param {{ ready: Promise, user: object|null }} o.auth from auth.js
 */
export function createLedger({ map, section, auth }) {
  const statusSelect = section.querySelector('#clues-status');
  const overdueBox = section.querySelector('#clues-overdue');
  const list = section.querySelector('#clues-list');
  const status = section.querySelector('#clues-status-text');
  const ctl = { clues: null, ready: null, load, flyToClue, filter: { status: '', overdue: false } };
  let seq = 0;

  const fillStatuses = () => {
    statusSelect.replaceChildren(el('option', { value: '', textContent: tr('全部状态', 'All statuses') }),
      ...STATUSES.map(([v, zh, en]) => el('option', { value: v, textContent: tr(zh, en) })));
    statusSelect.value = ctl.filter.status;
  };

  function flyToClue(clue) {
    const b = geometryBounds(clue?.geometry);
    if (b && (b[2] - b[0] > 1e-6 || b[3] - b[1] > 1e-6)) {
      map.fitBounds(b, { padding: 60, maxZoom: 16, essential: true });
    } else if (Number.isFinite(clue?.lon) && Number.isFinite(clue?.lat)) {
      map.flyTo({ center: [clue.lon, clue.lat], zoom: Math.max(map.getZoom(), POINT_ZOOM), essential: true });
    }
  }

  const row = (c) => {
    const detail = [
      statusName(c.status),
      c.deadline ? tr(`期限 ${c.deadline}`, `due ${c.deadline}`) : null,
      c.station_name ?? c.village_name ?? null,
    ].filter(Boolean).join(' · ');
    const swatch = el('span', { className: 'clue-swatch', ariaHidden: 'true' });
    swatch.style.background = CLUE_STATUS_COLORS[c.status] ?? '#999999';
    const main = el('span', { className: 'row-main' }, swatch, `${c.clue_id} · ${activityName(c.activity)} · ${c.detected_on}`);
    if (c.overdue) main.append(el('strong', { className: 'overdue-flag', textContent: tr('逾期', 'Overdue') }));
    const b = el('button', { type: 'button', className: `list-row${c.overdue ? ' overdue' : ''}` },
      main, el('span', { className: 'row-detail', textContent: detail }));
    b.addEventListener('click', () => flyToClue(c));
    const li = el('li', {}, b);
    li.dataset.id = String(c.id);
    li.dataset.clueId = c.clue_id;
    li.dataset.status = c.status;
    li.dataset.overdue = String(Boolean(c.overdue));
    return li;
  };

  const render = () => {
    const clues = ctl.clues ?? [];
    list.replaceChildren(...clues.map(row));
    const overdue = clues.filter((c) => c.overdue).length;
    status.textContent = tr(`${clues.length} 条线索，其中逾期 ${overdue} 条`, `${clues.length} clue(s), ${overdue} overdue`);
  };

  async function load() {
    const mine = ++seq;
    const q = new URLSearchParams();
    if (ctl.filter.status) q.set('status', ctl.filter.status);
    if (ctl.filter.overdue) q.set('overdue', 'true');
    const text = q.toString();
    try {
      const answer = await getJson(`/api/clues${text ? `?${text}` : ''}`);
      if (mine !== seq) return;
      ctl.clues = answer.clues;
      addLayers(map);
      map.getSource(CLUES_SOURCE).setData(cluesGeoJson(ctl.clues));
      render();
    } catch (err) {
      if (mine === seq) status.textContent = `${tr('加载失败', 'Failed to load')}: ${err.message}`;
    }
  }

  fillStatuses();
  statusSelect.addEventListener('change', () => { ctl.filter.status = statusSelect.value; ctl.ready = load(); });
  overdueBox.addEventListener('change', () => { ctl.filter.overdue = overdueBox.checked; ctl.ready = load(); });
  onLangChange(() => { fillStatuses(); if (ctl.clues) render(); });

  ctl.ready = auth.ready.then(() => {
    if (!auth.user) {
      section.hidden = true;
      return undefined;
    }
    section.hidden = false;
    return load();
  });
  return ctl;
}
