// The rectification ledger (线索台账) for signed-in users: the clues of `/api/clues` that the
// caller may see, filtered by status and overdue, as a list linked to the map (activating a
// row flies there) and as a GeoJSON layer drawn from the same list, each clue coloured by
// status (palette.js, colour-blind safe) with overdue clues outlined in black. The public
// never sees the ledger (the API answers 404), so the section stays hidden for them.
//
// Activating a row also opens the clue (#clue-detail): its fields, overdue flag, photos and
// history, and the workflow steps the server says this user may take now (`actions` of
// `GET /api/clues/{id}`: an illegal or forbidden step is never offered). Each step opens a
// small form with what it needs (field notes and a photo; measures, deadline and departments;
// evidence and a photo; the sign-off note); a photo is uploaded first (`POST
// /api/clues/{id}/photos`) and cited by the step. The server's refusal is shown as it comes.
//
// The assignment rules (#clue-rules, `GET /api/clues/rules`): which departments are suggested
// for each activity. Everyone signed in reads them; editors of the coordinating office and
// admins (the server says so: `editable`) change the lead and responsible departments and save
// the whole table (`PUT /api/clues/rules`; apiFetch adds the CSRF header of a cookie session).
// The server re-assigns the pending clues, so the list is read again; its refusal (an unknown
// department, a rule naming none) is shown as it comes.
import { apiFetch, getBlob, getJson, postJson } from './api.js';
import { tr, onLangChange } from './i18n.js';
import { CLUE_STATUS_COLORS, CLUE_OVERDUE_OUTLINE } from './palette.js';
import { saveBlob } from './chart.js';
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
  const ctl = { clues: null, ready: null, rulesReady: null, load, flyToClue, select, clue: null, acting: null, filter: { status: '', overdue: false } };
  const detail = el('div', { id: 'clue-detail', className: 'clue-detail', hidden: true });
  // Exports of the list as filtered (CSV, XLSX) and the half-year/annual summary (XLSX).
  const half = () => { const d = new Date(); return `${d.getFullYear()}H${d.getMonth() < 6 ? 1 : 2}`; };
  const period = el('input', { id: 'clues-period', type: 'text', size: 7, value: half(), title: '2026H1, 2026H2, 2026' });
  const exportError = el('span', { className: 'clue-error', role: 'alert' });
  const download = (label, path, name) => {
    const b = el('button', { type: 'button', textContent: label });
    b.addEventListener('click', async () => {
      exportError.textContent = '';
      try { saveBlob(await getBlob(path()), name()); } catch (err) { exportError.textContent = err.message; }
    });
    return b;
  };
  const filterQuery = (format) => {
    const q = new URLSearchParams({ format });
    if (ctl.filter.status) q.set('status', ctl.filter.status);
    if (ctl.filter.overdue) q.set('overdue', 'true');
    return q.toString();
  };
  const exportsRow = el('div', { className: 'tool-row clue-exports' },
    download(tr('导出 CSV', 'Export CSV'), () => `/api/clues/export?${filterQuery('csv')}`, () => 'clues.csv'),
    download(tr('导出 XLSX', 'Export XLSX'), () => `/api/clues/export?${filterQuery('xlsx')}`, () => 'clues.xlsx'),
    el('label', { htmlFor: 'clues-period', textContent: tr('汇总期', 'Period') }), period,
    download(tr('汇总 XLSX', 'Summary XLSX'), () => `/api/clues/summary?${new URLSearchParams({ period: period.value.trim(), format: 'xlsx' })}`,
      () => `clues-summary-${period.value.trim()}.xlsx`),
    exportError);
  const rulesBox = el('details', { id: 'clue-rules', className: 'clue-rules' },
    el('summary', { textContent: tr('分办规则', 'Assignment rules') }));
  section.append(exportsRow, rulesBox, detail);
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
    b.addEventListener('click', () => { flyToClue(c); ctl.acting = select(c.id); });
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

  const photoUrls = [];
  async function photoLink(clue, p) {
    const img = el('img', { alt: p.caption || tr('照片', 'Photo'), className: 'clue-photo' });
    img.dataset.photo = String(p.id);
    try {
      const url = URL.createObjectURL(await getBlob(`/api/clues/${clue.id}/photos/${p.id}`));
      photoUrls.push(url);
      img.src = url;
    } catch { img.alt = `${tr('照片无法加载', 'Photo unavailable')} #${p.id}`; }
    return el('li', {}, img, el('span', { textContent: ` #${p.id} ${p.caption ?? ''}` }));
  }

  const field = (label, value) => (value == null || value === '' || (Array.isArray(value) && !value.length)
    ? null
    : [el('dt', { textContent: label }), el('dd', { textContent: Array.isArray(value) ? value.join(', ') : String(value) })]);

  const today = () => new Date().toISOString().slice(0, 10);
  const ACTIONS = {
    verify_problem: ['核实为问题', 'Verified: a problem'],
    verify_no_problem: ['核实无问题', 'Verified: no problem'],
    start_rectification: ['开始整改', 'Start rectification'],
    report_rectified: ['报告已整改', 'Report rectified'],
    close: ['销号', 'Close (sign off)'],
  };

  function input(name, label, props = {}) {
    const id = `clue-form-${name}`;
    const control = props.tag === 'textarea'
      ? el('textarea', { id, name, rows: 3, required: Boolean(props.required) })
      : el('input', { id, name, type: props.type ?? 'text', required: Boolean(props.required) });
    if (props.value != null) control.value = props.value;
    if (props.accept) control.accept = props.accept;
    return el('p', {}, el('label', { htmlFor: id, textContent: label }), control);
  }

  /** The form of one step: the fields the server requires for it. */
  function stepForm(clue, action) {
    const photo = () => input('photo', tr('照片（JPEG/PNG/WebP，可选）', 'Photo (JPEG/PNG/WebP, optional)'), { type: 'file', accept: 'image/jpeg,image/png,image/webp' });
    const date = (label) => input('date', label, { type: 'date', value: today() });
    const fields = {
      verify_problem: () => [input('notes', tr('核查情况', 'Field notes'), { tag: 'textarea' }), date(tr('核查日期', 'Verified on')), photo()],
      verify_no_problem: () => [input('notes', tr('核查情况', 'Field notes'), { tag: 'textarea' }), date(tr('核查日期', 'Verified on')), photo()],
      start_rectification: () => [
        input('measures', tr('整改措施', 'Measures'), { tag: 'textarea' }),
        input('deadline', tr('整改期限', 'Deadline'), { type: 'date' }),
        input('lead', tr('牵头单位（代码）', 'Lead department (code)'), { value: clue.lead_department ?? clue.suggested_lead ?? '' }),
        input('responsible', tr('责任单位（代码，逗号分隔）', 'Responsible departments (codes, comma-separated)'),
          { value: (clue.responsible_departments?.length ? clue.responsible_departments : clue.suggested_responsible ?? []).join(',') }),
      ],
      report_rectified: () => [input('evidence', tr('整改佐证', 'Evidence'), { tag: 'textarea' }), date(tr('完成日期', 'Rectified on')), photo()],
      close: () => [input('note', tr('销号意见（可选）', 'Sign-off note (optional)'), { tag: 'textarea' })],
    }[action]();
    const error = el('p', { className: 'clue-error', role: 'alert' });
    const submit = el('button', { type: 'submit', className: 'clue-submit', textContent: tr(...ACTIONS[action]) });
    const cancel = el('button', { type: 'button', textContent: tr('取消', 'Cancel') });
    const form = el('form', { className: 'clue-form' }, el('h4', { textContent: tr(...ACTIONS[action]) }), ...fields, el('p', {}, submit, ' ', cancel), error);
    form.dataset.action = action;
    cancel.addEventListener('click', () => form.remove());
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      ctl.acting = take(clue, action, form, error, submit);
    });
    return form;
  }

  /** Uploads the form's photo (if any), then takes the step; shows the server's refusal. */
  async function take(clue, action, form, error, submit) {
    error.textContent = '';
    submit.disabled = true;
    const data = new FormData(form);
    const text = (k) => (typeof data.get(k) === 'string' ? data.get(k).trim() : '');
    const body = { action };
    try {
      const file = data.get('photo');
      if (file && typeof file !== 'string' && file.size > 0) {
        const upload = new FormData();
        upload.append('photo', file);
        const res = await apiFetch(`/api/clues/${clue.id}/photos`, { method: 'POST', body: upload });
        const answer = await res.json().catch(() => ({}));
        if (!res.ok) throw new Error(`${tr('照片上传失败', 'Photo upload failed')}: ${answer.error ?? res.status}`);
        body.photos = [answer.id];
      }
      for (const k of ['notes', 'measures', 'deadline', 'lead', 'evidence', 'note', 'date']) {
        if (form.elements[k] && text(k)) body[k] = text(k);
      }
      if (form.elements.responsible) body.responsible = text('responsible').split(/[,，\s]+/).filter(Boolean);
      await postJson(`/api/clues/${clue.id}/transitions`, body);
      await Promise.all([select(clue.id), load()]);
    } catch (err) {
      error.textContent = err.message.replace(/^POST \S+: /, '');
      submit.disabled = false;
    }
  }

  function renderDetail(clue, history, photos) {
    while (photoUrls.length) URL.revokeObjectURL(photoUrls.pop());
    const title = el('h3', { textContent: `${clue.clue_id} · ${activityName(clue.activity)}` });
    if (clue.overdue) title.append(el('strong', { className: 'overdue-flag', textContent: tr('逾期', 'Overdue') }));
    const facts = el('dl', { className: 'clue-facts' }, ...[
      field(tr('状态', 'Status'), statusName(clue.status)),
      field(tr('发现日期', 'Detected'), clue.detected_on),
      field(tr('保护区功能区', 'Reserve zones'), (clue.zones ?? []).map((z) => z.name)),
      field(tr('管护站', 'Station'), clue.station_name),
      field(tr('牵头单位', 'Lead'), clue.lead_department),
      field(tr('责任单位', 'Responsible'), clue.responsible_departments),
      field(tr('核查情况', 'Field notes'), clue.field_notes),
      field(tr('核查人', 'Verified by'), clue.verified_by && `${clue.verified_by} ${clue.verified_on ?? ''}`),
      field(tr('整改措施', 'Measures'), clue.measures),
      field(tr('整改期限', 'Deadline'), clue.deadline),
      field(tr('整改佐证', 'Evidence'), clue.evidence),
      field(tr('销号', 'Closed'), clue.closed_by && `${clue.closed_by} ${clue.closed_on ?? ''}`),
    ].flat().filter(Boolean));
    const photoList = el('ul', { className: 'clue-photos' });
    Promise.all(photos.map((p) => photoLink(clue, p))).then((items) => photoList.replaceChildren(...items));
    const steps = el('ol', { className: 'clue-history' }, ...history.map((h) => el('li', {
      textContent: `${h.at.slice(0, 10)} ${h.actor}: ${statusName(h.from_status)} → ${statusName(h.to_status)}`,
    })));
    const actions = el('div', { className: 'clue-actions' });
    for (const action of clue.actions ?? []) {
      const b = el('button', { type: 'button', textContent: tr(...ACTIONS[action] ?? [action, action]) });
      b.dataset.action = action;
      b.addEventListener('click', () => {
        detail.querySelector('.clue-form')?.remove();
        const form = stepForm(clue, action);
        detail.append(form);
        form.querySelector('input, textarea')?.focus();
      });
      actions.append(b);
    }
    const close = el('button', { type: 'button', className: 'clue-detail-close', textContent: tr('关闭', 'Close panel') });
    close.addEventListener('click', () => { detail.hidden = true; ctl.clue = null; });
    detail.replaceChildren(title, facts,
      photos.length ? el('h4', { textContent: tr('照片', 'Photos') }) : null, photoList,
      history.length ? el('h4', { textContent: tr('办理记录', 'History') }) : null, steps,
      actions, close);
    detail.dataset.id = String(clue.id);
    detail.dataset.status = clue.status;
    detail.hidden = false;
  }

  /** Opens clue `id` in the detail panel (re-read from the server). */
  async function select(id) {
    try {
      const clue = await getJson(`/api/clues/${id}`);
      ctl.clue = clue;
      renderDetail(clue, clue.history ?? [], clue.photos ?? []);
    } catch (err) {
      detail.replaceChildren(el('p', { className: 'clue-error', role: 'alert', textContent: err.message }));
      detail.hidden = false;
    }
  }

  // Department codes as typed: commas (either width) or spaces between them.
  const codes = (text) => text.split(/[,，\s]+/).filter(Boolean);
  const ruleActivity = (a) => (a === '*' ? tr('任何活动', 'Any activity') : activityName(a));

  // The rules as shown: the server's table, with the editor's unsaved edits, additions and
  // deletions (`dirty`) until Save puts the whole table.
  let rulesView = null;

  /** Reads the department inputs back into the shown rules (before re-rendering or saving). */
  function collectRules() {
    const table = rulesBox.querySelector('table.clue-rules-table');
    if (!rulesView?.editable || !table) return;
    rulesView.rules = rulesView.rules.map((rule, i) => {
      const input = (key) => table.querySelector(`input[name="${key}"][data-rule="${i}"]`);
      if (!input('lead') || !input('responsible')) return rule;
      return { ...rule, lead: input('lead').value.trim() || null, responsible: codes(input('responsible').value.trim()) };
    });
  }

  /** The form adding a rule to the table (saved with the table). */
  function addRuleForm(error) {
    const activity = el('select', { id: 'clue-rule-new-activity' },
      ...['*', ...Object.keys(ACTIVITIES)].map((a) => el('option', { value: a, textContent: ruleActivity(a) })));
    const reserve = el('input', { id: 'clue-rule-new-reserve', type: 'checkbox' });
    const lead = el('input', { id: 'clue-rule-new-lead', type: 'text', size: 6 });
    const responsible = el('input', { id: 'clue-rule-new-responsible', type: 'text', size: 10 });
    const note = el('input', { id: 'clue-rule-new-note', type: 'text', size: 14, maxLength: 500 });
    const add = el('button', { type: 'button', className: 'clue-rule-add', textContent: tr('添加规则', 'Add rule') });
    add.addEventListener('click', () => {
      error.textContent = '';
      const rule = {
        activity: activity.value,
        in_reserve_only: reserve.checked,
        lead: lead.value.trim() || null,
        responsible: codes(responsible.value.trim()),
        note: note.value.trim(),
      };
      if (!rule.lead && rule.responsible.length === 0) {
        error.textContent = tr('新规则需填写牵头或责任单位', 'A new rule needs a lead or a responsible department');
        lead.focus();
        return;
      }
      collectRules();
      rulesView.rules = [...rulesView.rules, rule];
      rulesView.dirty = true;
      renderRules(rulesView);
      rulesBox.querySelector('.clue-rule-add')?.focus();
    });
    const field = (input, zh, en) => el('label', { className: 'clue-rule-field' }, `${tr(zh, en)} `, input);
    return el('fieldset', { className: 'clue-rule-new' },
      el('legend', { textContent: tr('新增规则', 'New rule') }),
      field(activity, '疑似类型', 'Activity'), field(reserve, '仅保护区内', 'In reserve only'),
      field(lead, '牵头单位', 'Lead'), field(responsible, '责任单位', 'Responsible'),
      field(note, '备注', 'Note'), add);
  }

  /** The rules table: inputs for the departments, a delete button per rule and a form adding
   * one when `editable`, plain text otherwise. Drawn again in the other language on the switch. */
  function renderRules(view) {
    const { rules, editable } = view;
    rulesView = { rules: [...rules], editable: Boolean(editable), dirty: Boolean(view.dirty) };
    const head = el('tr', {}, ...[
      tr('疑似类型', 'Activity'), tr('仅保护区内', 'In reserve only'), tr('牵头单位', 'Lead'),
      tr('责任单位', 'Responsible'), ...(editable ? [tr('操作', 'Action')] : []),
    ].map((t) => el('th', { scope: 'col', textContent: t })));
    const cell = (rule, i, key, value) => {
      if (!editable) return el('td', { textContent: value });
      const label = `${ruleActivity(rule.activity)} ${key === 'lead' ? tr('牵头单位', 'lead') : tr('责任单位', 'responsible')}`;
      const input = el('input', { type: 'text', name: key, value, size: key === 'lead' ? 6 : 10, ariaLabel: label });
      input.dataset.rule = String(i);
      return el('td', {}, input);
    };
    const remove = (rule, i) => {
      const b = el('button', {
        type: 'button', className: 'clue-rule-delete', textContent: tr('删除', 'Delete'),
        ariaLabel: `${tr('删除规则', 'Delete rule')}: ${ruleActivity(rule.activity)}`,
      });
      b.dataset.rule = String(i);
      b.addEventListener('click', () => {
        collectRules();
        rulesView.rules = rulesView.rules.filter((_, j) => j !== i);
        rulesView.dirty = true;
        renderRules(rulesView);
        const next = rulesBox.querySelector(`.clue-rule-delete[data-rule="${Math.min(i, rulesView.rules.length - 1)}"]`);
        (next ?? rulesBox.querySelector('.clue-rule-add'))?.focus();
      });
      return el('td', {}, b);
    };
    const body = rules.map((rule, i) => {
      const tr_ = el('tr', {},
        el('th', { scope: 'row' }, el('span', { className: 'clue-rule-activity', textContent: ruleActivity(rule.activity) }),
          rule.note ? el('small', { className: 'clue-rule-note', textContent: rule.note }) : null),
        el('td', { textContent: rule.in_reserve_only ? tr('是', 'yes') : '' }),
        cell(rule, i, 'lead', rule.lead ?? ''),
        cell(rule, i, 'responsible', (rule.responsible ?? []).join(', ')),
        editable ? remove(rule, i) : null);
      tr_.dataset.activity = rule.activity;
      return tr_;
    });
    const table = el('table', { className: 'clue-rules-table' }, el('thead', {}, head), el('tbody', {}, ...body));
    const summary = rulesBox.querySelector('summary');
    summary.textContent = tr('分办规则', 'Assignment rules');
    const parts = [summary, table];
    if (editable) {
      const save = el('button', { type: 'button', className: 'clue-rules-save', textContent: tr('保存规则', 'Save rules') });
      const note = el('span', { className: 'clue-rules-status', role: 'status' });
      if (rulesView.dirty) note.textContent = tr('有未保存的修改', 'Unsaved changes');
      const error = el('p', { className: 'clue-error', role: 'alert' });
      save.addEventListener('click', () => { ctl.rulesReady = saveRules(save, note, error); });
      parts.push(addRuleForm(error), el('p', {}, save, ' ', note), error);
    } else {
      parts.push(el('p', { className: 'status', textContent: tr('仅协调办公室编辑和管理员可修改。', 'Only editors of the coordinating office and admins change them.') }));
    }
    rulesBox.replaceChildren(...parts);
    rulesBox.dataset.editable = String(Boolean(editable));
  }

  async function loadRules() {
    try {
      renderRules(await getJson('/api/clues/rules'));
    } catch (err) {
      rulesView = null;
      rulesBox.replaceChildren(rulesBox.querySelector('summary'),
        el('p', { className: 'clue-error', role: 'alert', textContent: err.message }));
    }
  }

  /** Puts the whole table as shown (edits, additions, deletions); shows what the server did. */
  async function saveRules(save, note, error) {
    error.textContent = '';
    note.textContent = '';
    save.disabled = true;
    collectRules();
    const edited = rulesView.rules.map((rule) => ({
      activity: rule.activity,
      in_reserve_only: rule.in_reserve_only,
      lead: rule.lead || null,
      responsible: rule.responsible ?? [],
      note: rule.note ?? '',
    }));
    try {
      const res = await apiFetch('/api/clues/rules', {
        method: 'PUT',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: JSON.stringify({ rules: edited }),
      });
      const answer = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(answer.error ?? `${res.status}`);
      renderRules({ rules: answer.rules, editable: true });
      rulesBox.querySelector('.clue-rules-status').textContent = tr(
        `已保存；${answer.reassigned_pending} 条待核查线索已重新分办`,
        `Saved; ${answer.reassigned_pending} pending clue(s) re-assigned`);
      await load();
    } catch (err) {
      error.textContent = `${tr('保存失败', 'Not saved')}: ${err.message}`;
      save.disabled = false;
    }
  }
  rulesBox.addEventListener('toggle', () => { if (rulesBox.open) ctl.rulesReady = loadRules(); });

  fillStatuses();
  statusSelect.addEventListener('change', () => { ctl.filter.status = statusSelect.value; ctl.ready = load(); });
  overdueBox.addEventListener('change', () => { ctl.filter.overdue = overdueBox.checked; ctl.ready = load(); });
  onLangChange(() => {
    fillStatuses();
    if (ctl.clues) render();
    if (rulesView) { collectRules(); renderRules(rulesView); }
  });

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
