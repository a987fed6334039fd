import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bearerToken, hashKey, keyIdOf, keyMatches, newApiKey } from '../../src/auth/api-key.ts';
import { isLoopbackHost } from '../../src/auth/loopback.ts';

test('keys carry their id and 256 random bits; only the hash is needed to check them', () => {
  const a = newApiKey();
  const b = newApiKey();
  assert.notEqual(a.key, b.key);
  assert.match(a.key, /^recon_k[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
  assert.equal(keyIdOf(a.key), a.id);
  assert.equal(keyIdOf('recon_kshort_x'), undefined);
  assert.equal(keyIdOf(`${a.key}x`), undefined);
  const stored = hashKey(a.key);
  assert.equal(stored.length, 64);
  assert.ok(!stored.includes(a.key.slice(20)), 'the hash does not contain the secret');
  assert.equal(keyMatches(a.key, stored), true);
  assert.equal(keyMatches(b.key, stored), false);
  assert.equal(keyMatches(a.key, 'not-hex'), false);
});

test('bearer tokens are read from the Authorization header only in the Bearer scheme', () => {
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('bearer   abc '), 'abc');
  assert.equal(bearerToken('Basic abc'), undefined);
  assert.equal(bearerToken(undefined), undefined);
});

test('loopback hosts', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.equal(isLoopbackHost(host), true, host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com']) assert.equal(isLoopbackHost(host), false, host);
});
