// The MapLibre style the server builds from the catalog.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Color, createPropertyExpression, latest } from '@maplibre/maplibre-gl-style-spec';
import { getJson } from './helpers.mjs';

const LAYER_KEY = 'onemap:layer';
const DEPT_KEY = 'onemap:department';

let style;
let catalog;
let landClasses;
before(async () => {
  [style, catalog, landClasses] = await Promise.all([
    getJson('/style.json'), getJson('/api/layers'), getJson('/api/land-classes')]);
});

/** Path of the package's gl-style-validate CLI, read from its package.json "bin". */
function validatorCli() {
  const pkgUrl = new URL('./node_modules/@maplibre/maplibre-gl-style-spec/package.json', import.meta.url);
  const pkg = JSON.parse(readFileSync(pkgUrl, 'utf8'));
  return fileURLToPath(new URL(pkg.bin['gl-style-validate'], pkgUrl));
}

test('the style at /style.json passes gl-style-validate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onemap-style-'));
  try {
    const file = join(dir, 'style.json');
    writeFileSync(file, JSON.stringify(style, null, 2));
    const run = spawnSync(process.execPath, [validatorCli(), file], { encoding: 'utf8' });
    assert.equal(run.status, 0, `gl-style-validate failed:\n${run.stdout}${run.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the style needs nothing but the Onemap server: no glyphs, no sprite, labels in local fonts, vector sources on /tiles', () => {
  assert.equal(style.version, 8);
  assert.equal(style.glyphs, undefined, 'glyphs would need a font server');
  assert.equal(style.sprite, undefined, 'sprite would need an image server');
  assert.ok(style.layers.some((l) => l.type === 'background'), 'no background layer');
  // Labels are drawn by MapLibre from local fonts (no glyphs URL): text only, never icons.
  for (const l of style.layers.filter((x) => x.type === 'symbol')) {
    assert.equal(l.layout?.['icon-image'], undefined, `${l.id}: icons need a sprite`);
    assert.ok(l.layout?.['text-font']?.includes('sans-serif'), `${l.id}: text-font must end in a generic family`);
  }
  for (const layer of catalog) {
    const source = style.sources[layer.id];
    assert.ok(source, `no source named ${layer.id}`);
    assert.equal(source.type, 'vector', `${layer.id}: source type`);
    assert.match(source.url ?? '', /^https?:\/\/[^/]+(\/.*)?\/tiles\/[a-z0-9_]+$/, `${layer.id}: source url`);
    assert.ok(source.url.endsWith(`/tiles/${layer.id}`), `${layer.id}: source url ${source.url}`);
  }
});

test('every catalog layer has style layers whose metadata, source and source-layer name it', () => {
  for (const layer of catalog) {
    const styled = style.layers.filter((l) => l.metadata?.[LAYER_KEY] === layer.id);
    assert.ok(styled.length > 0, `catalog layer ${layer.id} has no style layer`);
    for (const sl of styled) {
      assert.equal(sl.source, layer.id, `${sl.id}: source`);
      // Names of areas (polygons that are not land use) come from their label points.
      const labelPoints = sl.type === 'symbol' && layer.geometry_type === 'polygon' && !layer.class_field;
      assert.equal(sl['source-layer'], labelPoints ? `${layer.id}_labels` : layer.id, `${sl.id}: source-layer`);
      assert.equal(sl.metadata[DEPT_KEY], layer.department, `${sl.id}: department metadata`);
    }
    const expectedIds = {
      polygon: [`${layer.id}-fill`, `${layer.id}-outline`],
      line: [`${layer.id}-line`],
      point: [`${layer.id}-point`],
    }[layer.geometry_type];
    for (const id of expectedIds) {
      assert.ok(styled.some((sl) => sl.id === id), `${layer.geometry_type} layer ${layer.id} lacks style layer ${id}`);
    }
  }
  // And no style layer points at a layer the catalog does not have.
  const ids = new Set(catalog.map((l) => l.id));
  for (const sl of style.layers.filter((l) => l.type !== 'background')) {
    assert.ok(ids.has(sl.metadata?.[LAYER_KEY]), `style layer ${sl.id} has no catalog layer`);
  }
});

test('the land-use fill colour paints every land class code in the colour of its class', () => {
  const landUse = catalog.filter((l) => l.class_field);
  assert.ok(landUse.some((l) => l.id === 'dltb'), 'dltb is not a land-use layer (class_field)');
  assert.ok(landClasses.length >= 85, `only ${landClasses.length} land classes`);
  for (const layer of landUse) {
    const fill = style.layers.find((l) => l.metadata?.[LAYER_KEY] === layer.id && l.type === 'fill');
    assert.ok(fill, `${layer.id}: no fill layer`);
    const value = fill.paint?.['fill-color'];
    assert.ok(Array.isArray(value), `${layer.id}: fill-color is not an expression: ${JSON.stringify(value)}`);
    // Evaluate the real expression for a parcel of each class, as MapLibre would.
    const parsed = createPropertyExpression(value, 'fill-color', latest.paint_fill['fill-color']);
    assert.equal(parsed.result, 'success', JSON.stringify(parsed.value));
    const colourOf = (props) => parsed.value.evaluate({ zoom: 12 }, { type: 'Polygon', properties: props });
    for (const cls of landClasses) {
      const got = colourOf({ [layer.class_field]: cls.code });
      const want = Color.parse(cls.color);
      assert.ok(got && want, `${cls.code}: colour ${cls.color}`);
      assert.deepEqual([got.r, got.g, got.b, got.a].map((v) => v.toFixed(3)),
        [want.r, want.g, want.b, want.a].map((v) => v.toFixed(3)),
        `${layer.id}: class ${cls.code} (${cls.name_zh}) drawn ${got.toString()} instead of ${cls.color}`);
    }
    // Every code must appear as a label of the match on the class field, not just hit the default.
    const labels = new Set();
    const walk = (e) => {
      if (!Array.isArray(e)) return;
      if (e[0] === 'match' && JSON.stringify(e[1]).includes(JSON.stringify(layer.class_field))) {
        for (let i = 2; i < e.length - 1; i += 2) [e[i]].flat().forEach((c) => labels.add(String(c)));
      }
      e.forEach(walk);
    };
    walk(value);
    const missing = landClasses.map((c) => c.code).filter((c) => !labels.has(c));
    assert.deepEqual(missing, [], `${layer.id}: codes missing from the match on ${layer.class_field}`);
  }
});
