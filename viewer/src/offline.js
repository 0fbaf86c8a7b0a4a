// The offline viewer (offline.html): opens a PMTiles package written by `onemap
// export-tiles`, picked from the disk, and draws it with the style layers the package carries
// (the server's own land-use colours). Tiles are read from the file in the page through the
// `pmtiles` protocol; no request leaves the page, so it works at a station without signal.
// `window.onemap` exposes the map, `ready` (settles when a package has been drawn) and
// `open(file)` for tests.
import { Map as MapLibreMap, NavigationControl, ScaleControl, addProtocol } from 'maplibre-gl';
import { FileSource, PMTiles, Protocol } from 'pmtiles';

const protocol = new Protocol();
addProtocol('pmtiles', protocol.tile);

const status = document.getElementById('offline-status');
const onemap = { map: null, ready: null, metadata: null, header: null, open };
window.onemap = onemap;

const BACKGROUND = { id: 'background', type: 'background', paint: { 'background-color': '#f4f1ea' } };

/** The MapLibre style for a package: its style layers over one vector source. */
function packageStyle(key, metadata) {
  const layers = metadata['onemap:style_layers'] ?? [];
  return {
    version: 8,
    name: metadata.name ?? key,
    sources: { onemap: { type: 'vector', url: `pmtiles://${key}`, attribution: metadata.attribution ?? '' } },
    layers: [BACKGROUND, ...layers],
  };
}

/** Opens `file` (a File or Blob with a name) and shows it; resolves once drawn. */
async function open(file) {
  status.textContent = `正在打开 ${file.name} …`;
  const archive = new PMTiles(new FileSource(file));
  protocol.add(archive);
  const [header, metadata] = await Promise.all([archive.getHeader(), archive.getMetadata()]);
  onemap.header = header;
  onemap.metadata = metadata;
  const style = packageStyle(archive.source.getKey(), metadata);
  const bounds = [[header.minLon, header.minLat], [header.maxLon, header.maxLat]];
  if (onemap.map) {
    onemap.map.setStyle(style);
    onemap.map.fitBounds(bounds, { animate: false, padding: 20 });
  } else {
    onemap.map = new MapLibreMap({ container: 'map', style, bounds, fitBoundsOptions: { padding: 20 } });
    onemap.map.addControl(new NavigationControl(), 'top-right');
    onemap.map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-left');
  }
  await new Promise((resolve) => onemap.map.once('idle', resolve));
  const years = (metadata['onemap:versions'] ?? []).map((v) => v.year).filter(Boolean);
  status.textContent = `${metadata.name ?? file.name}${years.length ? ` · ${years[0]}` : ''} · `
    + `z${header.minZoom}–${header.maxZoom} · ${header.numAddressedTiles} tiles`;
}

document.getElementById('offline-file').addEventListener('change', (event) => {
  const [file] = event.target.files;
  if (!file) return;
  onemap.ready = open(file).catch((err) => {
    status.textContent = `无法打开 / cannot open ${file.name}: ${err.message}`;
    throw err;
  });
});
