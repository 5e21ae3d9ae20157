/**
 * EndpointStream's read-ahead: when the next page is asked for. Once fewer than a whole read-ahead
 * wait to be sent (not half of it: in an upstream drain the half lasted about 23 ms and a page
 * took longer, so the window stood a third empty), and never past the durable queue's tail.
 * Read-back entries hold their stored bytes and are decoded when sent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndpointStream, EntryState } from '../../src/hub/store/endpoint-stream.js';
import { encodeMessage } from '../../src/hub/store/message-codec.js';
import { message, numberOf } from './store-harness.js';

const sensor = { device: 'edge', module: 'sensor', output: 'out' };
const stored = (n: number) => ({ expiresAtMs: Number.MAX_SAFE_INTEGER, cum: n, bytes: encodeMessage(message(sensor, n)) });

describe('EndpointStream read-ahead', () => {
  it('asks for the next page as soon as fewer than a read-ahead wait, while the queue has more', () => {
    const stream = new EndpointStream(0, 'q', 0, { head: 0, tail: 10, cumHead: 0 }, 4);
    assert.equal(stream.needsRead(), true, 'nothing loaded');
    stream.reading = true;
    stream.loadPage(0, [0, 1, 2, 3].map(stored));
    assert.equal(stream.needsRead(), false, 'a whole read-ahead waits');
    const first = stream.next()!;
    const decoded = first.decode();
    assert.ok(!(decoded instanceof RangeError));
    assert.equal(numberOf(decoded), 0, 'the stored bytes decode to the message');
    first.state = EntryState.Inflight;
    stream.next();
    assert.equal(stream.needsRead(), true, 'three of four wait: the next page (at half, this waited for two)');
  });

  it('asks for nothing past the tail', () => {
    const stream = new EndpointStream(0, 'q', 0, { head: 0, tail: 2, cumHead: 0 }, 4);
    stream.loadPage(0, [0, 1].map(stored));
    assert.equal(stream.needsRead(), false);
  });
});
