// Thin wrappers over the Onemap server's JSON endpoints. Paths are root-relative so the
// viewer works behind any host/port the server is started on.

async function getJson(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!res.ok) {
    throw new Error(`GET ${path} failed: ${res.status} ${res.statusText}`);
  }
  return res.json();
}

/** The layer catalog: layers with department, theme and versions (newest first). */
export const fetchCatalog = () => getJson('/api/layers');

/** GB/T 21010 land classes plus the survey's working classes, with their map colours. */
export const fetchLandClasses = () => getJson('/api/land-classes');

/** The MapLibre style the server builds from the catalog. */
export const fetchStyle = () => getJson('/style.json');
