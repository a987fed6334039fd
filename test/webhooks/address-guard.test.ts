import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isBlockedAddress, refuseUrlText } from '../../src/webhooks/address-guard.ts';
import { parseRetryAfter, RefusedTarget, WebhookSender } from '../../src/webhooks/sender.ts';
import { startReceiver } from './receiver.ts';

describe('webhook SSRF guard', () => {
  test('blocks loopback, private, shared, link-local, metadata and reserved addresses', () => {
    for (const address of [
      '127.0.0.1', '127.8.9.10', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254',
      '100.64.0.1', '100.100.100.200', '0.0.0.0', '224.0.0.1', '255.255.255.255',
      '::1', '::', 'fc00::1', 'fd00:ec2::254', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:a9fe:a9fe',
    ]) {
      assert.equal(isBlockedAddress(address), true, address);
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      assert.equal(isBlockedAddress(address), false, address);
    }
  });

  test('refuses URLs that are literally private, or not http(s)', () => {
    for (const url of [
      'http://127.0.0.1:8080/hook', 'http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/', 'http://[::1]/',
      'http://localhost:3000/', 'http://api.localhost/', 'http://metadata.google.internal/', 'http://[::ffff:127.0.0.1]/',
      'http://2130706433/', 'http://0x7f.1/', 'ftp://example.com/', 'file:///etc/passwd', 'http://user:pw@example.com/',
    ]) {
      assert.ok(refuseUrlText(url, false), url);
    }
    assert.equal(refuseUrlText('https://hooks.example.com/recon', false), undefined);
    assert.equal(refuseUrlText('http://127.0.0.1:8080/hook', true), undefined, 'allowed by RECON_WEBHOOK_ALLOW_PRIVATE');
    assert.ok(refuseUrlText('ftp://127.0.0.1/', true), 'the scheme is checked even when private targets are allowed');
  });

  test('a name that resolves to a private or metadata address is refused before connecting', async () => {
    const asked: string[] = [];
    const answers: Record<string, string[]> = {
      'internal.example.test': ['10.0.0.1'],
      'metadata.example.test': ['169.254.169.254'],
      'mixed.example.test': ['93.184.216.34', '127.0.0.1'],
      'mapped.example.test': ['::ffff:127.0.0.1'],
    };
    const sender = new WebhookSender({
      allowPrivate: false,
      timeoutMs: 2000,
      resolve: async (hostname) => {
        asked.push(hostname);
        return (answers[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      },
    });
    for (const host of Object.keys(answers)) {
      await assert.rejects(sender.send(`http://${host}/hook`, {}, '{}'), (error: Error) => {
        assert.ok(error instanceof RefusedTarget || error.name === 'RefusedTarget', `${host}: ${error.message}`);
        assert.match(error.message, /loopback, private, link-local or metadata/);
        return true;
      });
    }
    assert.deepEqual(asked, Object.keys(answers), 'every name was resolved by the guard itself');
  });

  test('literal private targets never see a request; with the opt-in they do', async () => {
    const receiver = await startReceiver();
    try {
      const guarded = new WebhookSender({ allowPrivate: false, timeoutMs: 2000 });
      await assert.rejects(guarded.send(receiver.url(), {}, '{}'), RefusedTarget);
      const viaName = new WebhookSender({ allowPrivate: false, timeoutMs: 2000, resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
      await assert.rejects(viaName.send(receiver.url().replace('127.0.0.1', 'rebind.example.test'), {}, '{}'), { name: 'RefusedTarget' });
      assert.equal(receiver.received.length, 0);

      const allowed = new WebhookSender({ allowPrivate: true, timeoutMs: 2000 });
      const result = await allowed.send(receiver.url(), { 'content-type': 'application/json' }, '{"ok":true}');
      assert.equal(result.statusCode, 204);
      assert.equal(receiver.received.length, 1);
      assert.equal(receiver.received[0]?.body, '{"ok":true}');
    } finally {
      await receiver.close();
    }
  });

  test('Retry-After in seconds or as an HTTP date', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(new Date(10_000 + 5000).toUTCString(), 10_000), 5000);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });
});
