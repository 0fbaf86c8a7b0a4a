// Number formatting for the popup; Chinese locale grouping, units spelled the way surveys do.

const m2Format = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 1 });
const haFormat = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 4 });

/** "12,345.6 m² (1.2346 ha)"; falls back to the raw value if it is not a number. */
export function formatArea(value) {
  const m2 = typeof value === 'number' ? value : Number(value);
  if (value === null || value === '' || !Number.isFinite(m2)) return String(value);
  return `${m2Format.format(m2)} m² (${haFormat.format(m2 / 10000)} ha)`;
}
