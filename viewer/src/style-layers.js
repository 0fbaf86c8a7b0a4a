// The link between catalog layers and style layers is the style layer's
// metadata["onemap:layer"], set by the server; ids like `dltb-fill` are not relied on.

export const LAYER_KEY = 'onemap:layer';

/** Map of catalog layer id -> ids of the style layers drawing it, in style order. */
export function styleLayersByCatalogId(style) {
  const byId = new Map();
  for (const layer of style.layers ?? []) {
    const catalogId = layer.metadata?.[LAYER_KEY];
    if (!catalogId) continue;
    if (!byId.has(catalogId)) byId.set(catalogId, []);
    byId.get(catalogId).push(layer.id);
  }
  return byId;
}
