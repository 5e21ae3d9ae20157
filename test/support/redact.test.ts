/** What the support bundle's redaction removes, and what it leaves for a reader. */
import assert from 'node:assert/strict';
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { redactText, redactValue } from '../../src/support/index.js';

const key = randomBytes(32).toString('base64');
const longKey = randomBytes(64).toString('base64');

describe('redactText', () => {
  const cases: [string, string, string][] = [
    ['connection string', `HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=${key}`, 'HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=[REDACTED]'],
    ['SAS token', 'SharedAccessSignature sr=h%2Fdevices%2Fd&sig=abc%2Bdef%3D&se=1700000000', 'SharedAccessSignature [REDACTED]'],
    ['sig parameter alone', 'GET /x?sr=h&sig=abc%2Bdef&se=1', 'GET /x?sr=h&sig=[REDACTED]&se=1'],
    ['bearer token', 'Authorization: Bearer eyJhbGciOi.payload.sig', 'Authorization: Bearer [REDACTED]'],
    ['URL password', 'amqps://user:s3cret@host:5671/path', 'amqps://user:[REDACTED]@host:5671/path'],
    ['NAME=value', 'DB_PASSWORD=hunter2 API_TOKEN: abc123 other=fine', 'DB_PASSWORD=[REDACTED] API_TOKEN: [REDACTED] other=fine'],
    ['JSON secret field in a log line', '{"password":"hunter2","tokenCacheSize":20000}', '{"password":"[REDACTED]","tokenCacheSize":20000}'],
    ['raw SAS key under any name', `KEY=${key} and ${longKey}`, 'KEY=[REDACTED] and [REDACTED]'],
    ['hex digests are not keys', 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
  ];
  for (const [name, input, expected] of cases) it(name, () => assert.equal(redactText(input), expected));

  it('PEM private keys of every kind, certificates kept', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const encrypted = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }).toString();
    const text = `a\n${pkcs8}b\n${pkcs1}c\n${encrypted}-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n`;
    assert.equal(redactText(text), 'a\n[REDACTED PRIVATE KEY]\nb\n[REDACTED PRIVATE KEY]\nc\n[REDACTED PRIVATE KEY]\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  });
});

describe('redactValue', () => {
  it('removes strings under secret-named keys and env values of secret-named variables; keeps paths, sizes and the rest', () => {
    const value = {
      tls: { keyFile: '/etc/outpost/key.pem', certFile: '/etc/outpost/cert.pem' },
      auth: { tokenCacheSize: 20000, sasClockSkew: 300000 },
      registryCredentials: { acr: { username: 'u', password: 'p4ss', address: 'a.io' } },
      env: { API_TOKEN: { value: 'tok' }, PLAIN: { value: 'fine' }, UPSTREAM: { value: `HostName=h;SharedAccessKey=${key}` } },
      list: [{ secret: 's' }, 'Bearer abc'],
    };
    assert.deepEqual(redactValue(value), {
      tls: { keyFile: '/etc/outpost/key.pem', certFile: '/etc/outpost/cert.pem' },
      auth: { tokenCacheSize: 20000, sasClockSkew: 300000 },
      registryCredentials: { acr: { username: 'u', password: '[REDACTED]', address: 'a.io' } },
      env: { API_TOKEN: { value: '[REDACTED]' }, PLAIN: { value: 'fine' }, UPSTREAM: { value: 'HostName=h;SharedAccessKey=[REDACTED]' } },
      list: [{ secret: '[REDACTED]' }, 'Bearer [REDACTED]'],
    });
  });
});
