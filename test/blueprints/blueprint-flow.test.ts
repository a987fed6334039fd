import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { jsonBody, STORE_MODES } from '../helpers/recon.ts';
import { checkDataset, readZip } from '../helpers/dataset-checks.ts';
import { tempPaths } from '../helpers/temp-paths.ts';
import { type BlueprintTestServer, blueprintWithPhotos, startBlueprintServer, waitUntilSettled } from './blueprint-server.ts';

const temp = tempPaths('recon-blueprint-flow-');

for (const mode of STORE_MODES) {
  describe(`blueprint flow (${mode})`, () => {
    let t: BlueprintTestServer;
    before(async () => {
      t = await startBlueprintServer(mode);
    });
    after(() => t.close());

    test('3 photos × 4 template defects → 12 labelled images, ratings, a refined prompt, an export', async () => {
      const { server, fal } = t;
      const created = await blueprintWithPhotos(server, ['disc', 'panel', 'bottle'], { template: 'painted-panel' });
      const id = created.id;
      assert.equal(created.objects.length, 3);
      assert.equal(created.defects.length, 4);
      assert.deepEqual(created.defects.map((d: any) => d.categoryId), [1, 2, 3, 4]);
      assert.ok(created.defects.every((d: any) => d.source === 'template' && d.template === 'painted-panel@1' && d.promptId));

      const started = await server.json(`/api/blueprints/${id}/generate`, jsonBody({}));
      assert.equal(started.status, 202, JSON.stringify(started.body));
      assert.equal(started.body.generations.length, 12);
      const done = await waitUntilSettled(server, id);
      assert.equal(done.status, 'ready_for_review');
      assert.deepEqual(
        done.generations.map((g: any) => g.status),
        Array(12).fill('completed'),
        JSON.stringify(done.generations.map((g: any) => g.error)),
      );
      // Each label is exactly what the stand-in painted (inpainting paints our mask).
      for (const generation of done.generations) {
        const truth = fal.truth(generation.requestId)!;
        assert.deepEqual(generation.bbox, truth.bbox);
        assert.equal(generation.area, truth.area);
        assert.ok(generation.seed > 0 && generation.seed < 2 ** 53);
        assert.equal(fal.requests.get(generation.requestId)!.input.seed, generation.seed);
      }
      assert.equal(fal.stats.submits, 12);

      // Ratings: approve 10, reject one, ask for a refinement of another.
      const [refine, reject, ...rest] = done.generations;
      for (const g of rest) assert.equal((await server.fetch(`/api/blueprints/${id}/generations/${g.id}/rating`, { ...jsonBody({ rating: 'approved' }), method: 'PUT' })).status, 200);
      await server.fetch(`/api/blueprints/${id}/generations/${reject.id}/rating`, { ...jsonBody({ rating: 'rejected', feedback: 'looks painted on' }), method: 'PUT' });
      const rated = await server.json(`/api/blueprints/${id}/generations/${refine.id}/rating`, { ...jsonBody({ rating: 'needs_refinement', feedback: 'too large, make it subtler' }), method: 'PUT' });
      assert.equal(rated.body.rating, 'needs_refinement');

      // Refine: edit the prompt (a manual_edit child) and regenerate the cell with it.
      const parent = done.prompts.find((p: any) => p.id === refine.promptId);
      const edited = await server.json(`/api/blueprints/${id}/prompts`, jsonBody({ parentId: parent.id, text: `${parent.text} Make it small and subtle.` }));
      assert.equal(edited.status, 201);
      const childId = edited.body.promptIds[0];
      const child = edited.body.blueprint.prompts.find((p: any) => p.id === childId);
      assert.deepEqual([child.parentId, child.strategy], [parent.id, 'manual_edit']);
      const again = await server.json(`/api/blueprints/${id}/generations/${refine.id}/regenerate`, jsonBody({}));
      assert.equal(again.status, 202);
      assert.equal(again.body.promptId, childId, 'the newest prompt of the defect');
      const after = await waitUntilSettled(server, id);
      const regenerated = after.generations.find((g: any) => g.id === again.body.id);
      assert.equal(regenerated.status, 'completed');
      await server.fetch(`/api/blueprints/${id}/generations/${regenerated.id}/rating`, { ...jsonBody({ rating: 'approved' }), method: 'PUT' });
      const stats = (await server.json(`/api/blueprints/${id}`)).body.prompts.find((p: any) => p.id === childId).stats;
      assert.deepEqual([stats.generations, stats.approved, stats.approvalRate], [1, 1, 1]);

      // Export twice: the same bytes; a valid dataset.
      const first = await server.json(`/api/blueprints/${id}/exports`, jsonBody({}));
      assert.equal(first.status, 201, JSON.stringify(first.body));
      const second = await server.json(`/api/blueprints/${id}/exports`, jsonBody({}));
      assert.equal(second.body.sha256, first.body.sha256);
      assert.equal(first.body.summary.generations, 11);
      const zip = await server.fetch(first.body.downloadUrl);
      assert.equal(zip.headers.get('content-type'), 'application/zip');
      const path = temp('dataset.zip');
      await writeFile(path, Buffer.from(await zip.arrayBuffer()));
      const { manifest, annotations } = await checkDataset(await readZip(path));
      // Every exported box is the stand-in's painted truth.
      for (const image of manifest.images.filter((i: any) => i.kind === 'generated')) {
        const truth = fal.truth(image.falRequestId)!;
        const box = annotations.get(image.file)!.bbox;
        assert.ok(box.every((v: number, i: number) => Math.abs(v - truth.bbox[i]!) <= 1), `${image.file}: ${box} vs ${truth.bbox}`);
        assert.equal(annotations.get(image.file)!.area, truth.area);
      }
      const refined = manifest.images.find((i: any) => i.generationId === regenerated.id);
      assert.deepEqual(refined.promptChain.map((p: any) => p.strategy), ['seed', 'manual_edit']);
    });
  });
}
