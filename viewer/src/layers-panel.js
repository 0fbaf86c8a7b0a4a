// Side panel: catalog layers grouped by the department that owns them, one checkbox each.
// Real <input type=checkbox> + <label> so the panel is keyboard and screen-reader usable.

/** Groups catalog layers by department, keeping the catalog's order within and between groups. */
function groupByDepartment(catalog) {
  const groups = new Map();
  for (const layer of catalog) {
    if (!groups.has(layer.department)) {
      groups.set(layer.department, {
        code: layer.department,
        nameZh: layer.department_name_zh ?? layer.department,
        nameEn: layer.department_name_en ?? '',
        layers: [],
      });
    }
    groups.get(layer.department).layers.push(layer);
  }
  return [...groups.values()];
}

const GEOMETRY_LABEL = { polygon: '面 polygon', line: '线 line', point: '点 point' };

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c != null));
  return node;
}

const COLOR_PROPERTY = { fill: 'fill-color', line: 'line-color', circle: 'circle-color' };

/** The plain colour a style layer is drawn with, or null when it is an expression. */
function styleColor(map, styleLayerId) {
  const type = map.getLayer(styleLayerId)?.type;
  const value = COLOR_PROPERTY[type] && map.getPaintProperty(styleLayerId, COLOR_PROPERTY[type]);
  return typeof value === 'string' ? value : null;
}

/** One layer row: checkbox, Chinese title (English as tooltip), latest version summary. */
function layerRow(map, layer, styleLayerIds, onToggle) {
  const inputId = `layer-toggle-${layer.id}`;
  const input = el('input', { type: 'checkbox', id: inputId, value: layer.id });
  input.dataset.layer = layer.id;
  // Visible unless every style layer of it starts hidden in the style.
  input.checked = styleLayerIds.some((id) => map.getLayoutProperty(id, 'visibility') !== 'none');
  input.disabled = styleLayerIds.length === 0;

  const latest = layer.versions?.[0];
  const meta = [GEOMETRY_LABEL[layer.geometry_type] ?? layer.geometry_type];
  if (latest) meta.push(latest.label, `${Number(latest.feature_count ?? 0).toLocaleString('zh-CN')} 个要素`);
  if (input.disabled) meta.push('无样式 not styled');

  // The glyph takes the layer's map colour so the panel doubles as a legend of non-land-use layers.
  const glyph = el('span', { className: `geom geom-${layer.geometry_type}`, ariaHidden: 'true' });
  const color = styleLayerIds.map((id) => styleColor(map, id)).find(Boolean);
  if (color) glyph.style.setProperty('--layer-color', color);
  const label = el('label', { htmlFor: inputId, title: layer.title_en ?? '' },
    glyph,
    el('span', { className: 'layer-title', textContent: layer.title_zh ?? layer.title ?? layer.id }),
    el('span', { className: 'layer-meta', textContent: meta.join(' · ') }));

  input.addEventListener('change', () => {
    const visibility = input.checked ? 'visible' : 'none';
    for (const id of styleLayerIds) map.setLayoutProperty(id, 'visibility', visibility);
    onToggle?.(layer, input.checked);
  });
  return el('li', { className: 'layer-row' }, input, label);
}

/**
 * Fills `container` with the grouped layer list.
 * @param {Map<string, string[]>} styleLayers catalog layer id -> style layer ids
 * @param {(layer: object, visible: boolean) => void} [onToggle]
 */
export function renderLayersPanel(container, map, catalog, styleLayers, onToggle) {
  container.replaceChildren();
  if (catalog.length === 0) {
    container.append(el('p', { className: 'status', textContent: '目录中没有图层 No layers in the catalog' }));
    return;
  }
  for (const group of groupByDepartment(catalog)) {
    const headingId = `dept-${group.code}`;
    const list = el('ul', { className: 'layer-list' });
    list.setAttribute('aria-labelledby', headingId);
    for (const layer of group.layers) {
      list.append(layerRow(map, layer, styleLayers.get(layer.id) ?? [], onToggle));
    }
    container.append(el('section', { className: 'dept-group' },
      el('h3', { id: headingId, textContent: group.nameZh, title: group.nameEn }),
      list));
  }
}
