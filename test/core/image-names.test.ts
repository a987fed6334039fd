import assert from 'node:assert/strict';
import { test } from 'node:test';
import { safeImageName, uniqueName } from '../../src/core/image-names.ts';

test('a name with lone surrogates is stored as what disk and database make of it, so clashes are seen', () => {
  const first = safeImageName('\ud800.jpg', '.jpg');
  const second = safeImageName('\udc00.jpg', '.jpg');
  assert.equal(first, '\ufffd.jpg');
  assert.equal(Buffer.from(first).toString(), first, 'round-trips through UTF-8 unchanged');
  assert.equal(uniqueName(second, new Set([first])), '\ufffd-2.jpg', 'the second gets a name of its own');
});
