// A stacked bar chart drawn as plain SVG (no chart library), and its export as PNG (the SVG
// drawn on a canvas). Every bar segment carries its exact value (`data-area-m2`), its year and
// class, and a <title> tooltip, so the chart can be read by tests and screen readers alike.

const SVG_NS = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Round tick step (1, 2 or 5 × 10^n) giving about `count` ticks up to `max`. */
export function niceStep(max, count = 5) {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

/**
 * @param {object} o
 * @param {number[]} o.years x categories, left to right
 * @param {string[]} o.classes stack order, bottom first
 * @param {(year: number, cls: string) => number} o.value area in m²
 * @param {(cls: string) => string} o.color fill of a class
 * @param {(cls: string) => string} o.label name of a class
 * @param {string} o.title accessible title of the chart
 * @param {string} o.unitLabel y axis label (values are shown in km²)
 * @returns {SVGSVGElement}
 */
export function stackedBarChart({ years, classes, value, color, label, title, unitLabel, format }) {
  const width = 400;
  const height = 240;
  const m = { top: 12, right: 8, bottom: 26, left: 52 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const totals = years.map((y) => classes.reduce((s, c) => s + (value(y, c) || 0), 0));
  const maxKm2 = Math.max(...totals, 0) / 1e6;
  const step = niceStep(maxKm2);
  const top = Math.max(step, Math.ceil(maxKm2 / step) * step);
  const yPx = (km2) => m.top + plotH - (km2 / top) * plotH;

  const svg = svgEl('svg', {
    xmlns: SVG_NS, viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    class: 'stacked-chart', 'font-family': 'system-ui, "Noto Sans CJK SC", sans-serif', 'font-size': 10,
  });
  svg.append(svgEl('title', {}, title));
  svg.append(svgEl('rect', { x: 0, y: 0, width, height, fill: '#ffffff' }));

  const axis = svgEl('g', { class: 'axis', fill: '#5b6770' });
  for (let v = 0; v <= top + step / 2; v += step) {
    const y = yPx(v);
    axis.append(svgEl('line', { x1: m.left, x2: width - m.right, y1: y, y2: y, stroke: '#e4e8eb' }));
    axis.append(svgEl('text', { x: m.left - 4, y: y + 3, 'text-anchor': 'end' }, format(v)));
  }
  axis.append(svgEl('text', { x: 4, y: m.top - 2 }, unitLabel));
  svg.append(axis);

  const band = plotW / Math.max(1, years.length);
  const barW = Math.min(44, band * 0.7);
  const bars = svgEl('g', { class: 'bars' });
  years.forEach((year, i) => {
    const x = m.left + band * i + (band - barW) / 2;
    let acc = 0;
    const group = svgEl('g', { class: 'bar', 'data-year': year });
    for (const cls of classes) {
      const m2 = value(year, cls) || 0;
      if (m2 <= 0) continue;
      const y0 = yPx(acc / 1e6);
      acc += m2;
      const y1 = yPx(acc / 1e6);
      // White separators keep neighbouring segments apart whatever their colours.
      const rect = svgEl('rect', {
        class: 'segment', x, y: y1, width: barW, height: Math.max(0, y0 - y1),
        fill: color(cls), stroke: '#ffffff', 'stroke-width': 0.75,
        'data-year': year, 'data-class': cls, 'data-area-m2': m2,
      });
      rect.append(svgEl('title', {}, `${year} · ${label(cls)}: ${format(m2 / 1e6)} km²`));
      group.append(rect);
    }
    group.append(svgEl('text', {
      x: x + barW / 2, y: height - m.bottom + 14, 'text-anchor': 'middle', fill: '#1d2730',
    }, String(year)));
    bars.append(group);
  });
  svg.append(bars);
  svg.append(svgEl('line', {
    x1: m.left, x2: width - m.right, y1: m.top + plotH, y2: m.top + plotH, stroke: '#5b6770',
  }));
  return svg;
}

/** The SVG drawn on a canvas at `scale`, as a PNG Blob. */
export async function svgToPng(svg, scale = 2) {
  const clone = svg.cloneNode(true);
  const width = Number(svg.getAttribute('width'));
  const height = Number(svg.getAttribute('height'));
  const text = new XMLSerializer().serializeToString(clone);
  const img = new Image();
  img.width = width;
  img.height = height;
  const loaded = new Promise((resolve, reject) => {
    img.onload = resolve;
    img.onerror = () => reject(new Error('the chart could not be drawn as an image'));
  });
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`;
  await loaded;
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('PNG encoding failed'))), 'image/png');
  });
}

/** Saves a Blob under `filename` through a temporary link. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
