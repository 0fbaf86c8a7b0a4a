// Map labels follow the interface language: the server's label layers name features with
// ["coalesce", ["get", "name"], …]; in English `name_en` is tried first, and features without
// one keep their Chinese name. Parcel numbers (digits) are the same in both languages.

/** The `text-field` of a label layer for `lang`, from the style's own value. */
export function labelField(base, lang) {
  if (lang !== 'en' || !Array.isArray(base) || base[0] !== 'coalesce') return base;
  return ['coalesce', ['get', 'name_en'], ...base.slice(1)];
}

/** Sets every label layer of `style` drawn on `map` to `lang`. */
export function applyLabelLanguage(map, style, lang) {
  for (const layer of style.layers ?? []) {
    if (layer.type !== 'symbol' || !map.getLayer(layer.id)) continue;
    const base = layer.layout?.['text-field'];
    if (base !== undefined) map.setLayoutProperty(layer.id, 'text-field', labelField(base, lang));
  }
}
