// Failed logins over real MQTT (mqtt.js against the in-process hub with the identity registry):
// guessing one identity from an address is slowed and bounded, while good clients from that same
// address connect at once, and the failures are logged at most once per reason per interval.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { AuthFailureLimiter } from '../../src/hub/auth/index.js';
import { connectClient } from '../mqtt/mqtt-clients.js';
import { startPolicyBroker, type PolicyBroker } from './policy-broker.js';

/** Held answers wait this long: far beyond any deadline below, so a delayed good client fails the test. */
const HELD_MS = 120_000;
const CONNACK_BAD_CREDENTIALS = 4;
const CONNACK_SERVER_UNAVAILABLE = 3;

let broker: PolicyBroker;
const limiter = new AuthFailureLimiter({ freeFailures: 5, baseDelayMs: HELD_MS, maxDelayMs: HELD_MS, maxHeldPerAddress: 4 });
const dataDir = mkdtempSync(join(tmpdir(), 'outpost-failed-logins-'));
const clients: mqtt.MqttClient[] = [];

before(async () => {
  broker = await startPolicyBroker({ dataDir, policy: undefined, limiter });
});
after(async () => {
  for (const client of clients) client.end(true);
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** One login with a wrong token for `deviceId`; resolves with the CONNACK return code, or 'held' when none came within `waitMs`. */
function guess(deviceId: string, waitMs: number): Promise<number | 'held'> {
  const good = broker.credentials(deviceId);
  const client = mqtt.connect(broker.url, { ...good, password: `${good.password}x`, reconnectPeriod: 0, connectTimeout: HELD_MS * 2 });
  clients.push(client);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('held'), waitMs);
    client.once('error', (error: Error & { code?: number }) => {
      clearTimeout(timer);
      resolve(error.code ?? -1);
    });
  });
}

describe('failed logins over MQTT', () => {
  it('a guesser of one identity gets five quick answers, four held, the rest busy; good clients from its address connect at once', async () => {
    // Both identities exist first (a registry change forgets known logins), and the guessed device
    // connected before: its login is known.
    const neighbour = broker.credentials('neighbour');
    const victim = broker.credentials('victim');
    await (await connectClient(broker.url, victim)).end();

    const free: (number | 'held')[] = [];
    for (let i = 0; i < 5; i++) free.push(await guess('victim', 10_000));
    assert.deepEqual(free, Array(5).fill(CONNACK_BAD_CREDENTIALS));
    // Held answers: the guesser does not wait for them (as an attacker would not).
    const held = await Promise.all(Array.from({ length: 4 }, () => guess('victim', 300)));
    assert.deepEqual(held, Array(4).fill('held'));
    // Every further guess is refused at once, unchecked: the address has all its slots held.
    const busy = await Promise.all(Array.from({ length: 20 }, () => guess('victim', 10_000)));
    assert.deepEqual(busy, Array(20).fill(CONNACK_SERVER_UNAVAILABLE));
    assert.equal(limiter.heldBy('127.0.0.1'), 4);

    // Same address (127.0.0.1), while all that is held: another device, first time, connects at
    // once (connectClient gives up after 5 s; before the fix it waited out the address's delay).
    const other = await connectClient(broker.url, neighbour);
    assert.equal(other.connack.returnCode, 0);
    await other.end();
    // And the guessed device itself, with the login it used before.
    const back = await connectClient(broker.url, victim);
    assert.equal(back.connack.returnCode, 0);
    await back.end();
  });

  it('logs the failures once per reason per interval, not once per attempt', () => {
    const lines = broker.lines.filter((l) => l.event === 'mqtt.auth_failed');
    // 5 bad-credentials and 20 busy refusals answered above: one line per code per 10 s interval
    // (two if the test straddled one on a slow machine).
    for (const code of ['OUTPOST_AUTH_BAD_CREDENTIALS', 'OUTPOST_AUTH_TOO_MANY_FAILURES']) {
      const count = lines.filter((l) => l.code === code).length;
      assert.ok(count >= 1 && count <= 2, `${count} ${code} lines`);
    }
  });
});
