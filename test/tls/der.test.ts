import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  derBitString,
  derBoolean,
  derExplicit,
  derGeneralizedTime,
  derIa5String,
  derImplicit,
  derInteger,
  derLength,
  derNamedBitString,
  derNull,
  derOctetString,
  derOid,
  derPrintableString,
  derSequence,
  derSet,
  derSetOf,
  derTime,
  derUtcTime,
  derUtf8String,
} from '../../src/tls/der.js';
import { readDerChildren, readDerElement } from '../../src/tls/der-reader.js';
import { isOutpostError } from '../../src/errors/index.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** What OpenSSL's own encoder makes of an ASN1_generate_nconf string: an independent oracle. */
function opensslEncode(genstr: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-der-'));
  try {
    const out = join(dir, 'out.der');
    execFileSync('openssl', ['asn1parse', '-genstr', genstr, '-noout', '-out', out]);
    return readFileSync(out).toString('hex');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('lengths use the short form below 128 and minimal long forms above', () => {
  assert.equal(hex(derLength(0)), '00');
  assert.equal(hex(derLength(127)), '7f');
  assert.equal(hex(derLength(128)), '8180');
  assert.equal(hex(derLength(255)), '81ff');
  assert.equal(hex(derLength(256)), '820100');
  assert.equal(hex(derLength(65536)), '83010000');
  assert.equal(hex(derOctetString(Buffer.alloc(300))).slice(0, 8), '0482012c');
});

test('INTEGER is minimal two\'s complement', () => {
  const cases: Array<[number | bigint, string]> = [
    [0, '020100'],
    [127, '02017f'],
    [128, '02020080'],
    [256, '02020100'],
    [-1, '0201ff'],
    [-128, '020180'],
    [-129, '0202ff7f'],
    [2n ** 64n, '0209010000000000000000'],
  ];
  for (const [value, expected] of cases) assert.equal(hex(derInteger(value)), expected, `INTEGER ${value}`);
  assert.equal(hex(derInteger(-129)), opensslEncode('INTEGER:-129'));
});

test('INTEGER from bytes is a positive magnitude, including big serials', () => {
  assert.equal(hex(derInteger(Buffer.from([0, 0, 1]))), '020101');
  assert.equal(hex(derInteger(Buffer.from([0xff]))), '020200ff');
  assert.equal(hex(derInteger(Buffer.alloc(3))), '020100');
  const serial = Buffer.from('80ffffffffffffffffffffffffffffff', 'hex');
  assert.equal(hex(derInteger(serial)), opensslEncode(`INTEGER:0x${serial.toString('hex')}`));
  assert.equal(derInteger(serial).length, 2 + 17, 'a padding octet keeps the top bit from making it negative');
});

test('OBJECT IDENTIFIER packs the first two arcs and uses base 128', () => {
  assert.equal(hex(derOid('1.2.840.113549')), '06062a864886f70d');
  assert.equal(hex(derOid('2.5.29.17')), '0603551d11');
  // X.690 8.19.5 example: {2 999 3}.
  assert.equal(hex(derOid('2.999.3')), '0603883703');
  const uuidOid = '2.25.329800735698586629295641978511506172918';
  assert.equal(hex(derOid(uuidOid)), opensslEncode(`OID:${uuidOid}`));
  assert.throws(() => derOid('1.40'), isOutpostError);
  assert.throws(() => derOid('3.1'), isOutpostError);
  assert.throws(() => derOid('1.2.03'), isOutpostError);
});

test('NULL, BOOLEAN and OCTET STRING', () => {
  assert.equal(hex(derNull()), '0500');
  assert.equal(hex(derBoolean(true)), '0101ff');
  assert.equal(hex(derBoolean(false)), '010100');
  assert.equal(hex(derOctetString(Buffer.from([1, 2]))), '04020102');
});

test('BIT STRING carries the unused-bit count and rejects set padding bits', () => {
  // X.690 8.6.4.2 example.
  assert.equal(hex(derBitString(Buffer.from('0a3b5f291cd0', 'hex'), 4)), '0307040a3b5f291cd0');
  assert.equal(hex(derBitString(Buffer.alloc(0))), '030100');
  assert.throws(() => derBitString(Buffer.from([0x01]), 1), isOutpostError);
  assert.throws(() => derBitString(Buffer.alloc(0), 3), isOutpostError);
});

test('named bit lists drop trailing zero bits (KeyUsage)', () => {
  assert.equal(hex(derNamedBitString([0])), '03020780');
  assert.equal(hex(derNamedBitString([0, 2])), '030205a0');
  assert.equal(hex(derNamedBitString([0, 5, 6])), opensslEncode('FORMAT:BITLIST,BITSTRING:0,5,6'));
  assert.equal(hex(derNamedBitString([8])), '0303070080');
  assert.equal(hex(derNamedBitString([])), '030100');
});

test('string types check their alphabets', () => {
  assert.equal(hex(derUtf8String('é')), '0c02c3a9');
  assert.equal(hex(derPrintableString('Test 1')), '1306546573742031');
  assert.equal(hex(derIa5String('a.b')), '1603612e62');
  assert.throws(() => derPrintableString('a@b'), isOutpostError);
  assert.throws(() => derIa5String('bücher'), isOutpostError);
});

test('times switch from UTCTime to GeneralizedTime at 2050 (RFC 5280 4.1.2.5)', () => {
  const lastUtc = new Date('2049-12-31T23:59:59.999Z');
  const firstGeneralized = new Date('2050-01-01T00:00:00Z');
  assert.equal(hex(derTime(lastUtc)), opensslEncode('UTCTIME:491231235959Z'), 'milliseconds are dropped');
  assert.equal(hex(derTime(firstGeneralized)), opensslEncode('GENTIME:20500101000000Z'));
  assert.equal(derTime(new Date('1950-01-01T00:00:00Z')).toString('latin1', 2), '500101000000Z');
  assert.equal(derTime(new Date('1949-12-31T23:59:59Z'))[0], 0x18, '1949 needs GeneralizedTime');
  assert.throws(() => derUtcTime(firstGeneralized), isOutpostError);
  assert.throws(() => derGeneralizedTime(new Date(Number.NaN)), isOutpostError);
});

test('SEQUENCE concatenates; SET OF sorts encodings; SET sorts by tag', () => {
  assert.equal(hex(derSequence()), '3000');
  assert.equal(hex(derSequence(derInteger(1), derNull())), '30050201010500');
  assert.equal(hex(derSetOf(derInteger(2), derInteger(1))), '3106020101020102');
  // [1] primitive (0x81) sorts before [0] constructed (0xa0) as octets, but after it by tag.
  const zero = derExplicit(0, derNull());
  const one = derImplicit(1, derNull());
  assert.equal(hex(derSetOf(zero, one)), '31068100a0020500');
  assert.equal(hex(derSet(one, zero)), '3106a00205008100');
});

test('context-specific tags: explicit wraps, implicit replaces the tag', () => {
  assert.equal(hex(derExplicit(0, derInteger(2))), 'a003020102');
  assert.equal(hex(derImplicit(2, derIa5String('a'))), '820161');
  assert.equal(hex(derImplicit(1, derSequence(derNull()))), 'a1020500', 'constructed stays constructed');
  assert.throws(() => derExplicit(31, derNull()), isOutpostError);
});

test('the reader walks what the encoder writes, and openssl parses it', () => {
  const encoded = derSequence(derInteger(7), derSequence(derOid('2.5.4.3'), derUtf8String('x'.repeat(200))), derExplicit(3, derBoolean(true)));
  const top = readDerElement(encoded);
  assert.equal(top.end, encoded.length);
  const children = readDerChildren(top);
  assert.deepEqual(children.map((child) => child.identifier), [0x02, 0x30, 0xa3]);
  assert.equal(readDerChildren(children[1]!)[1]!.content.toString(), 'x'.repeat(200));
  assert.throws(() => readDerElement(encoded.subarray(0, encoded.length - 1)), isOutpostError);
  const parsed = execFileSync('openssl', ['asn1parse', '-inform', 'DER'], { input: encoded, encoding: 'utf8' });
  assert.match(parsed, /INTEGER\s+:07/);
  assert.match(parsed, /OBJECT\s+:commonName/);
  assert.match(parsed, /cont \[ 3 \]/);
});
