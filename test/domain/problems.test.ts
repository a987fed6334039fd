import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { PROBLEM_TYPES, runNotFound, tooManyImages } from '../../src/domain/problems.ts';
import { startTestServer } from '../helpers/recon.ts';

const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
const errorsSection = readme.slice(readme.indexOf('### Errors'), readme.indexOf('\n### ', readme.indexOf('### Errors') + 1));
/** The README's error table: code → status column. */
const documented = new Map([...errorsSection.matchAll(/^\| `([A-Z0-9_]+)` \| (\w+) \|/gm)].map((m) => [m[1]!, m[2]!]));

describe('the problem catalogue', () => {
  test('README has an error table', () => assert.ok(errorsSection.length > 100 && documented.size > 20));

  test('every code is unique, documented in the README with its status, and the README names no other', () => {
    const codes = PROBLEM_TYPES.map((type) => type.code);
    assert.equal(new Set(codes).size, codes.length, 'a code is defined twice');
    for (const type of PROBLEM_TYPES) {
      const status = documented.get(type.code);
      assert.ok(status, `${type.code} is missing from README's error table`);
      if (type.code !== 'REQUEST_REJECTED') assert.equal(status, String(type.status), `${type.code}: README says ${status}, the code ${type.status}`);
    }
    assert.deepEqual([...documented.keys()].filter((code) => !codes.includes(code)), [], 'README documents codes that do not exist');
  });

  test('factories make problems of their type, with the limit they hit', () => {
    const problem = tooManyImages('the run has 3 and this upload adds 2, over the limit of 4 per run', 4);
    assert.equal(problem.code, 'TOO_MANY_IMAGES');
    assert.equal(problem.status, 422);
    assert.deepEqual(problem.extra, { limit: 'maxImages', value: 4 });
    const inBatch = runNotFound('run_1_abcdef').within('runs[2]', { run: 2 });
    assert.equal(inBatch.code, 'RUN_NOT_FOUND');
    assert.match(inBatch.detail, /^runs\[2\]: Run "run_1_abcdef" does not exist$/);
  });

  test('the server sends the code in every problem+json body', async () => {
    const server = await startTestServer('pglite');
    try {
      const missing = await server.json('/api/runs/run_1732170000000_abcdefgh');
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(missing.body.code, 'RUN_NOT_FOUND');
      const invalid = await server.json('/api/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"settings":' });
      assert.equal(invalid.status, 400);
      assert.equal(invalid.body.code, 'REQUEST_REJECTED');
      const noRoute = await server.json('/api/nothing-here');
      assert.equal(noRoute.body.code, 'ROUTE_NOT_FOUND');
    } finally {
      await server.close();
    }
  });
});
