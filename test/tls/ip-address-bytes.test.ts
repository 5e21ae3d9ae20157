import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipAddressBytes } from '../../src/tls/ip-address-bytes.js';

const hexOf = (text: string): string | null => ipAddressBytes(text)?.toString('hex') ?? null;

test('IPv4 addresses are 4 octets', () => {
  assert.equal(hexOf('127.0.0.1'), '7f000001');
  assert.equal(hexOf('192.168.10.255'), 'c0a80aff');
});

test('IPv6 addresses are 16 octets, with :: expanded', () => {
  assert.equal(hexOf('::1'), '00000000000000000000000000000001');
  assert.equal(hexOf('::'), '00000000000000000000000000000000');
  assert.equal(hexOf('fe80::'), 'fe800000000000000000000000000000');
  // RFC 4291 2.2 example.
  assert.equal(hexOf('2001:DB8::8:800:200C:417A'), '20010db80000000000080800200c417a');
  assert.equal(hexOf('2001:db8:0:0:8:800:200c:417a'), '20010db80000000000080800200c417a');
  assert.equal(hexOf('::ffff:192.0.2.1'), '00000000000000000000ffffc0000201');
  assert.equal(hexOf('1:2:3:4:5:6:7.8.9.10'), '0001000200030004000500060708090a');
});

test('names, malformed addresses and zone indexes are not IP addresses', () => {
  assert.equal(hexOf('localhost'), null);
  assert.equal(hexOf('1.2.3.04'), null);
  assert.equal(hexOf('1:2:3'), null);
  assert.equal(hexOf('fe80::1%eth0'), null);
  assert.equal(hexOf('[::1]'), null);
});
