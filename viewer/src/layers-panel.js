// Side panel: catalog layers as a tree (department > theme > layer). Each layer has a
// visibility checkbox, an opacity slider, move up/down buttons, a metadata view and, when it
// has survey years, a year slider. Real form controls with labels, so everything is keyboard
// and screen-reader usable. The panel only edits the LayerModel; the model draws.
import { tr, other } from './i18n.js';
import { layerYears } from './layers.js';

const GEOMETRY_LABEL = {
  polygon: ['面', 'polygon'], line: ['线', 'line'], point: ['点', 'point'],
};
const ACCESS_LABEL = {
  public: ['公开', 'public'], internal: ['内部', 'internal'], restricted: ['受限', 'restricted'],
};
const COLOR_PROPERTY = { fill: 'fill-color', line: 'line-color', circle: 'circle-color' };

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c != null));
  return node;
}

const count = (n) => Number(n ?? 0).toLocaleString(tr('zh-CN', 'en'));
const title = (layer) => tr(layer.title_zh ?? layer.title, layer.title_en) || layer.id;
const pair = (p, fallback) => (p ? tr(p[0], p[1]) : fallback);

/** The plain colour a style layer is drawn with, or null when it is an expression. */
function styleColor(map, styleLayerId) {
  const type = map.getLayer(styleLayerId)?.type;
  const value = COLOR_PROPERTY[type] && map.getPaintProperty(styleLayerId, COLOR_PROPERTY[type]);
  return typeof value === 'string' ? value : null;
}

/** Department > theme > layers, each level in the order of its topmost layer in `order`. */
function tree(catalog, order) {
  const rank = new Map(order.map((id, i) => [id, i]));
  const sorted = [...catalog].sort((a, b) => (rank.get(a.id) ?? 1e9) - (rank.get(b.id) ?? 1e9));
  const depts = new Map();
  for (const layer of sorted) {
    if (!depts.has(layer.department)) {
      depts.set(layer.department, {
        code: layer.department,
        zh: layer.department_name_zh ?? layer.department,
        en: layer.department_name_en ?? layer.department,
        themes: new Map(),
      });
    }
    const themes = depts.get(layer.department).themes;
    if (!themes.has(layer.theme)) {
      themes.set(layer.theme, {
        code: layer.theme, zh: layer.theme_name_zh ?? layer.theme, en: layer.theme_name_en ?? layer.theme, layers: [],
      });
    }
    themes.get(layer.theme).layers.push(layer);
  }
  return [...depts.values()];
}

/** Metadata of a layer: owner, access, versions, and the shown version's source and counts. */
function metadataView(layer, shownYear) {
  const versions = layer.versions ?? [];
  const shown = versions.find((v) => v.year === shownYear) ?? versions[0];
  const rows = [
    [tr('所属部门', 'Owner'), tr(layer.department_name_zh, layer.department_name_en)],
    [tr('专题', 'Theme'), tr(layer.theme_name_zh, layer.theme_name_en)],
    [tr('几何类型', 'Geometry'), pair(GEOMETRY_LABEL[layer.geometry_type], layer.geometry_type)],
    [tr('访问级别', 'Access'), pair(ACCESS_LABEL[layer.access_level], layer.access_level ?? '')],
    [tr('版本', 'Versions'), versions.length ? versions.map((v) => v.label).join(', ') : tr('无', 'none')],
  ];
  if (shown) {
    rows.push(
      [tr('当前版本', 'Shown version'), shown.label],
      [tr('源文件', 'Source file'), shown.source_file ?? ''],
      [tr('要素数', 'Features'), count(shown.feature_count)],
      [tr('更新时间', 'Last update'), shown.ingested_at ? new Date(shown.ingested_at).toLocaleString(tr('zh-CN', 'en-GB')) : ''],
      [tr('导入者', 'Loaded by'), shown.ingested_by ?? ''],
    );
  }
  const dl = el('dl', { className: 'layer-metadata' });
  for (const [k, v] of rows) dl.append(el('dt', { textContent: k }), el('dd', { textContent: v }));
  return dl;
}

function yearSlider(model, layer, onYear) {
  const years = layerYears(layer);
  const { year } = model.get(layer.id);
  const id = `layer-year-${layer.id}`;
  const input = el('input', {
    type: 'range', id, min: 0, max: years.length - 1, step: 1, value: Math.max(0, years.indexOf(year)),
    className: 'year-slider',
  });
  input.dataset.layer = layer.id;
  const output = el('output', { htmlFor: id, className: 'year-value', textContent: String(year) });
  const sync = () => {
    const y = years[Number(input.value)];
    output.textContent = String(y);
    input.setAttribute('aria-valuetext', String(y));
    return y;
  };
  sync();
  input.addEventListener('input', sync);
  // 'change' fires once the thumb is released (or per arrow key): one tile reload per choice.
  input.addEventListener('change', () => onYear(layer, sync()));
  const ticks = el('span', { className: 'year-range', ariaHidden: 'true', textContent: `${years[0]}–${years.at(-1)}` });
  return el('div', { className: 'year-control' },
    el('label', { htmlFor: id, textContent: tr('年份', 'Year') }), input, output, ticks);
}

function layerRow(map, model, layer, callbacks) {
  const styleIds = model.styleLayers.get(layer.id) ?? [];
  const state = model.get(layer.id);
  const name = title(layer);
  const inputId = `layer-toggle-${layer.id}`;
  const input = el('input', { type: 'checkbox', id: inputId, value: layer.id, checked: state.visible });
  input.dataset.layer = layer.id;
  input.disabled = styleIds.length === 0;

  const shown = (layer.versions ?? []).find((v) => v.year === state.year) ?? layer.versions?.[0];
  const meta = [pair(GEOMETRY_LABEL[layer.geometry_type], layer.geometry_type)];
  if (shown) meta.push(shown.label, `${count(shown.feature_count)} ${tr('个要素', 'features')}`);
  if (input.disabled) meta.push(tr('无样式', 'not styled'));

  // The glyph takes the layer's map colour so the panel doubles as a legend of non-land-use layers.
  const glyph = el('span', { className: `geom geom-${layer.geometry_type}`, ariaHidden: 'true' });
  const color = styleIds.map((id) => styleColor(map, id)).find(Boolean);
  if (color) glyph.style.setProperty('--layer-color', color);
  const label = el('label', { htmlFor: inputId, title: other(layer.title_zh, layer.title_en) },
    glyph,
    el('span', { className: 'layer-title', textContent: name }),
    el('span', { className: 'layer-meta', textContent: meta.join(' · ') }));
  input.addEventListener('change', () => callbacks.onVisible(layer, input.checked));

  const opacityId = `layer-opacity-${layer.id}`;
  const pct = Math.round(state.opacity * 100);
  const opacity = el('input', {
    type: 'range', id: opacityId, min: 0, max: 100, step: 5, value: pct, className: 'opacity-slider',
  });
  opacity.dataset.layer = layer.id;
  opacity.setAttribute('aria-valuetext', `${pct}%`);
  const opacityOut = el('output', { htmlFor: opacityId, textContent: `${pct}%` });
  opacity.addEventListener('input', () => {
    opacityOut.textContent = `${opacity.value}%`;
    opacity.setAttribute('aria-valuetext', `${opacity.value}%`);
    model.setOpacity(layer.id, Number(opacity.value) / 100);
  });

  const rank = model.order.indexOf(layer.id);
  const moveButton = (dir, glyphText, zh, en) => {
    const b = el('button', { type: 'button', className: `move-${dir}`, textContent: glyphText });
    b.dataset.layer = layer.id;
    b.setAttribute('aria-label', `${tr(zh, en)}: ${name}`);
    b.title = tr(zh, en);
    b.disabled = dir === 'up' ? rank <= 0 : rank >= model.order.length - 1;
    b.addEventListener('click', () => callbacks.onMove(layer, dir === 'up' ? -1 : 1, `.move-${dir}`));
    return b;
  };
  const controls = el('div', { className: 'layer-controls' },
    el('label', { htmlFor: opacityId, className: 'opacity-label', textContent: tr('不透明度', 'Opacity') }),
    opacity, opacityOut,
    el('span', {
      className: 'layer-rank', textContent: `#${rank + 1}`, title: tr('绘制顺序（1 = 最上层）', 'Draw order (1 = top)'),
    }),
    moveButton('up', '↑', '上移', 'Move up'),
    moveButton('down', '↓', '下移', 'Move down'));

  const details = el('details', { className: 'layer-info' },
    el('summary', { textContent: tr('图层信息', 'Layer info') }),
    metadataView(layer, state.year));
  details.dataset.layer = layer.id;
  if (callbacks.openInfo.has(layer.id)) details.open = true;
  details.addEventListener('toggle', () => {
    if (details.open) callbacks.openInfo.add(layer.id); else callbacks.openInfo.delete(layer.id);
  });

  const row = el('li', { className: 'layer-row' },
    el('div', { className: 'layer-head' }, input, label), controls);
  row.dataset.layer = layer.id;
  if (layerYears(layer).length > 1) row.append(yearSlider(model, layer, callbacks.onYear));
  row.append(details);
  return row;
}

/**
 * Fills `container` with the layer tree and keeps it in step with the model (re-rendered when
 * the order or a year changes, or on a language switch through the returned `render`).
 * @param {(layer: object, visible: boolean) => void} [onToggle]
 */
export function renderLayersPanel(container, map, model, onToggle) {
  const openInfo = new Set();
  const render = (focus) => {
    container.replaceChildren();
    if (model.catalog.length === 0) {
      container.append(el('p', { className: 'status', textContent: tr('目录中没有图层', 'No layers in the catalog') }));
      return;
    }
    const callbacks = {
      openInfo,
      onVisible: (layer, visible) => {
        model.setVisible(layer.id, visible);
        onToggle?.(layer, visible);
      },
      onYear: (layer, year) => {
        model.setYear(layer.id, year);
        render({ layer: layer.id, selector: '.year-slider' });
      },
      onMove: (layer, delta, selector) => {
        model.move(layer.id, delta);
        render({ layer: layer.id, selector });
      },
    };
    for (const dept of tree(model.catalog, model.order)) {
      const headingId = `dept-${dept.code}`;
      const themes = el('div', { className: 'theme-groups' });
      for (const theme of dept.themes.values()) {
        const themeHeadingId = `theme-${dept.code}-${theme.code}`;
        const list = el('ul', { className: 'layer-list' });
        list.setAttribute('aria-labelledby', themeHeadingId);
        for (const layer of theme.layers) list.append(layerRow(map, model, layer, callbacks));
        themes.append(el('details', { className: 'theme-group', open: true },
          el('summary', {}, el('h4', { id: themeHeadingId, textContent: tr(theme.zh, theme.en), title: other(theme.zh, theme.en) })),
          list));
      }
      container.append(el('details', { className: 'dept-group', open: true },
        el('summary', {}, el('h3', { id: headingId, textContent: tr(dept.zh, dept.en), title: other(dept.zh, dept.en) })),
        themes));
    }
    if (focus) {
      const target = container.querySelector(`.layer-row[data-layer="${focus.layer}"] ${focus.selector}`);
      // A button that became disabled (moved to the very top) cannot hold focus: use its twin.
      (target && !target.disabled ? target
        : container.querySelector(`.layer-row[data-layer="${focus.layer}"] .layer-controls button:not(:disabled)`))?.focus();
    }
  };
  render();
  return { render };
}
