// Enforcement lists linked to the map: the hotspot ranking (flagged change area by reserve
// zone, station, village or grid cell) and the field tasks (one per flagged change piece).
// Each row is a button: activating it flies the map to the row's lon/lat and marks the place.
import { Marker } from 'maplibre-gl';
import { getJson } from './api.js';
import { tr, onLangChange } from './i18n.js';
import { layerYears } from './layers.js';
import { CHART_PALETTE } from './palette.js';

const ha = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 2 });
const BY = [
  ['zone', '保护区功能区', 'Reserve zone'],
  ['station', '保护站', 'Station'],
  ['village', '村', 'Village'],
  ['grid', '5 km 网格', '5 km grid'],
];
// How close to fly: a grid cell or a zone is a landscape, a task is one parcel.
const ZOOM = { zone: 11, station: 11, village: 12, grid: 11, task: 14 };
const MAX_TASKS = 200;

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c != null));
  return node;
}

/**
 * @param {object} o
 * @param {object} o.map
 * @param {object[]} o.catalog
 * @param {object[]} o.landClasses
 * @param {HTMLElement} o.section the side panel section (#enforcement)
 */
export function createEnforcement({ map, catalog, landClasses, section }) {
  const landUse = catalog.find((l) => l.class_field && layerYears(l).length > 1);
  const ctl = { hotspots: null, tasks: null, ready: Promise.resolve(), by: 'zone', load, flyToRow };
  if (!landUse) {
    section.hidden = true;
    return ctl;
  }
  const classByCode = new Map(landClasses.map((c) => [c.code, c]));
  const className = (code) => {
    const c = classByCode.get(code);
    return c ? tr(c.name_zh, c.name_en) : code;
  };
  const bySelect = section.querySelector('#hotspots-by');
  const hotspotList = section.querySelector('#hotspots-list');
  const taskList = section.querySelector('#tasks-list');
  const status = section.querySelector('#enforcement-status');
  const marker = new Marker({ color: CHART_PALETTE[5] });

  const fillBy = () => bySelect.replaceChildren(...BY.map(([v, zh, en]) => el('option', { value: v, textContent: tr(zh, en) })));
  fillBy();
  bySelect.value = ctl.by;
  bySelect.addEventListener('change', () => { ctl.by = bySelect.value; ctl.ready = loadHotspots(); });

  function flyToRow(row, zoom) {
    if (!Number.isFinite(row?.lon) || !Number.isFinite(row?.lat)) return;
    marker.setLngLat([row.lon, row.lat]).addTo(map);
    map.flyTo({ center: [row.lon, row.lat], zoom, essential: true });
  }

  const rowButton = (text, detail, onClick) => {
    const b = el('button', { type: 'button', className: 'list-row' },
      el('span', { className: 'row-main', textContent: text }),
      el('span', { className: 'row-detail', textContent: detail }));
    b.addEventListener('click', onClick);
    return b;
  };

  async function loadHotspots() {
    const by = ctl.by;
    const answer = await getJson(`/api/enforcement/hotspots?layer=${encodeURIComponent(landUse.id)}&by=${by}`);
    if (by !== ctl.by) return;
    ctl.hotspots = answer;
    status.textContent = tr(`${answer.from}→${answer.to} 违规变化共 ${ha.format(answer.flagged_m2 / 1e4)} 公顷`,
      `${answer.from}→${answer.to}: ${ha.format(answer.flagged_m2 / 1e4)} ha of flagged change`);
    hotspotList.replaceChildren(...answer.hotspots.map((h) => {
      const name = h.name ?? (by === 'grid' ? `${tr('网格', 'cell')} ${h.key}` : h.key);
      const li = el('li', {}, rowButton(`${h.rank}. ${name}`,
        `${ha.format(h.area_m2 / 1e4)} ${tr('公顷', 'ha')} · ${h.count} ${tr('处', 'pieces')}`,
        () => flyToRow(h, ZOOM[by])));
      li.dataset.key = h.key;
      return li;
    }));
    if (!answer.hotspots.length) hotspotList.append(el('li', { className: 'status', textContent: tr('无违规变化', 'No flagged change') }));
  }

  async function loadTasks() {
    const answer = await getJson(`/api/enforcement/tasks?layer=${encodeURIComponent(landUse.id)}`);
    ctl.tasks = answer;
    const shown = answer.tasks.slice(0, MAX_TASKS);
    taskList.replaceChildren(...shown.map((t, i) => {
      const who = t.station ?? t.responsible ?? '';
      const where = [t.zone_name, t.village_name].filter(Boolean).join(' · ');
      const li = el('li', {}, rowButton(
        `${i + 1}. ${className(t.from_class)} → ${className(t.to_class)}`,
        `${ha.format(t.area_m2 / 1e4)} ${tr('公顷', 'ha')} · ${who}${where ? ` · ${where}` : ''}`,
        () => flyToRow(t, ZOOM.task)));
      li.dataset.index = String(i);
      return li;
    }));
    if (answer.tasks.length > shown.length) {
      taskList.append(el('li', { className: 'status', textContent: tr(`另有 ${answer.tasks.length - shown.length} 条`, `${answer.tasks.length - shown.length} more`) }));
    }
    if (!answer.tasks.length) taskList.append(el('li', { className: 'status', textContent: tr('无任务', 'No tasks') }));
  }

  function load() {
    ctl.ready = Promise.all([loadHotspots(), loadTasks()]).catch((err) => {
      status.textContent = `${tr('加载失败', 'Failed to load')}: ${err.message}`;
    });
    return ctl.ready;
  }

  onLangChange(() => {
    fillBy();
    bySelect.value = ctl.by;
    if (ctl.hotspots) ctl.ready = Promise.all([loadHotspots(), loadTasks()]).catch(() => {});
  });
  // Loaded when first opened: the ranking costs the server an overlay it need not do for
  // people who never look at it.
  section.addEventListener('toggle', () => { if (section.open && !ctl.hotspots) load(); });
  section.hidden = false;
  return ctl;
}
