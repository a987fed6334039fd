import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type BlueprintTestServer, startBlueprintServer } from '../blueprints/blueprint-server.ts';
import { productPhoto } from '../fixtures/products.ts';
import { checkDataset, readZip } from '../helpers/dataset-checks.ts';
import { runRecon } from '../helpers/recon-cli.ts';

let t: BlueprintTestServer;
let work: string;

const recon = (args: string[]) => runRecon(['blueprint', ...args], { cwd: work, env: { RECON_URL: t.server.url, RECON_API_KEY: '' } });

before(async () => {
  t = await startBlueprintServer('pglite');
  work = await mkdtemp(join(tmpdir(), 'recon-blueprint-cli-'));
  await mkdir(join(work, 'photos'));
  for (const shape of ['disc', 'panel'] as const) await writeFile(join(work, 'photos', `${shape}.png`), await productPhoto(shape, 64));
});
after(async () => {
  await t.close();
  await rm(work, { recursive: true, force: true });
});

test('recon blueprint: create with photos, generate --wait, rate, edit a prompt, export --out', async () => {
  const created = await recon(['create', 'CLI parts', '--template', 'metal-casting', 'photos', '--json']);
  assert.equal(created.code, 0, created.stderr);
  const blueprint = JSON.parse(created.stdout);
  assert.equal(blueprint.objects.length, 2);
  assert.deepEqual(blueprint.objects.map((o: any) => o.name), ['disc', 'panel']);
  const id = blueprint.id;

  const generated = await recon(['generate', id, '--wait']);
  assert.equal(generated.code, 0, generated.stderr);
  assert.match(generated.stdout, /completed/);
  assert.match(generated.stdout, /PHOTO\s+porosity \(1\)\s+crack \(2\)/);
  const view = (await t.server.json(`/api/blueprints/${id}`)).body;
  assert.equal(view.generations.length, 8);

  // Most through the API (each CLI call starts a process), one through the CLI.
  for (const g of view.generations.slice(2)) {
    await t.server.fetch(`/api/blueprints/${id}/generations/${g.id}/rating`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"rating":"approved"}' });
  }
  assert.match((await recon(['rate', id, view.generations[1].id, 'approved'])).stdout, /approved/);
  const refine = await recon(['rate', id, view.generations[0].id, 'needs_refinement', '--feedback', 'too dark']);
  assert.match(refine.stdout, /needs_refinement — too dark/);
  const edited = await recon(['prompt', id, view.generations[0].promptId, 'A', 'few', 'fine', 'pores']);
  assert.equal(edited.code, 0, edited.stderr);
  assert.equal((await recon(['rate', id, view.generations[0].id, 'bogus'])).code, 2, 'a usage error');

  const exported = await recon(['export', id, '--out', `${join(work, 'out')}/`]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, /saved to .*\.zip/);
  const [zip] = await readdir(join(work, 'out'));
  const { manifest } = await checkDataset(await readZip(join(work, 'out', zip!)));
  assert.equal(manifest.images.filter((i: any) => i.kind === 'generated').length, 7);

  const missing = await recon(['show', 'bp_1700000000000_nothere1']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /does not exist/);
});
