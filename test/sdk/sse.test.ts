import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SseParser } from '../../src/sdk/sse.ts';

test('SSE parser: split chunks, CRLF, multi-line data, comments, retry and ids', () => {
  const parser = new SseParser();
  const text = 'retry: 2000\r\n\r\n: keep-alive\n\nid: 7\ndata: {"a":\ndata: 1}\n\nid: 8\r\nevent: x\r\ndata:plain\r\n\r\n';
  const messages = [];
  // One character at a time: every split point, \r\n halves included.
  for (const char of text) messages.push(...parser.push(char));
  assert.deepEqual(messages, [
    { id: '7', event: 'message', data: '{"a":\n1}' },
    { id: '8', event: 'x', data: 'plain' },
  ]);
});

test('SSE parser: a message without an id keeps the last id; a message not yet ended is held back', () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push('id: 3\ndata: a\n\ndata: b\n\ndata: c\n'), [
    { id: '3', event: 'message', data: 'a' },
    { id: '3', event: 'message', data: 'b' },
  ]);
  assert.deepEqual(parser.push('\n'), [{ id: '3', event: 'message', data: 'c' }]);
});
