import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodePropertyBag,
  encodePropertyBag,
  escapeDataString,
  unescapeDataString,
  type PropertyMap,
} from '../../../src/hub/transport/mqtt/iothub/index.js';

function decodedMap(text: string): PropertyMap {
  const result = decodePropertyBag(text);
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result.properties;
}

/** The decoded bag as a plain object, for readable comparisons. */
const decoded = (text: string): Record<string, string | null> => Object.fromEntries(decodedMap(text));

function refused(text: string): string {
  const result = decodePropertyBag(text);
  assert.ok(!result.ok, `expected ${JSON.stringify(text)} to be refused`);
  assert.equal(result.code, 'OUTPOST_MQTT_BAD_PROPERTY_BAG');
  return result.reason;
}

/** mulberry32: a small seeded PRNG so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ['a', 'Z', '0', '&', '=', '%', '/', '$', ' ', '?', '+', '#', '.', '-', '~', '*', "'", '(', '!', '%2F', '%zz', 'é', '中', '😀', '\u0000', '\t', '\uFFFD'];

function randomText(next: () => number, minLength: number): string {
  const length = minLength + Math.floor(next() * 12);
  let text = '';
  for (let i = 0; i < length; i++) text += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return text;
}

describe('property bag decoding', () => {
  it('decodes k=v pairs, a bare key as null and k= as the empty string', () => {
    assert.deepEqual(decoded('a=1&b&c='), { a: '1', b: null, c: '' });
    assert.deepEqual(decoded('solo'), { solo: null });
    assert.deepEqual(decoded('solo='), { solo: '' });
  });

  it('decodes an empty bag to no properties', () => {
    assert.deepEqual(decoded(''), {});
  });

  it('unescapes keys and values, including escaped separators, slashes and unicode', () => {
    assert.deepEqual(decoded('%24.to=%2Fdevices%2FdelMe%2Fmessages%2FdeviceBound&%24.ct=text%2Fplain%3B%20charset%3DUTF-8&%24.ce=utf-8'), {
      '$.to': '/devices/delMe/messages/deviceBound',
      '$.ct': 'text/plain; charset=UTF-8',
      '$.ce': 'utf-8',
    });
    assert.deepEqual(decoded('k%26%3D=v%26%3D%25'), { 'k&=': 'v&=%' });
    assert.deepEqual(decoded('%E4%B8%AD=%F0%9F%98%80&raw=中'), { 中: '😀', raw: '中' });
    assert.deepEqual(decoded('plus=a+b'), { plus: 'a+b' }, '+ is not a space');
  });

  it('accepts unescaped $ in keys, as some clients send it', () => {
    assert.deepEqual(decoded('$.ct=application%2Fjson'), { '$.ct': 'application/json' });
  });

  it('removes every raw ? before unescaping, but keeps an escaped %3F', () => {
    assert.deepEqual(decoded('?$.ct=json'), { '$.ct': 'json' });
    assert.deepEqual(decoded('a?b=c?d&q=%3F'), { ab: 'cd', q: '?' });
    assert.deepEqual(decoded('?=v'), { '': 'v' }, 'a key made only of ? becomes the empty name');
  });

  it('lets the last of duplicate keys win', () => {
    assert.deepEqual(decoded('k=1&k=2&k'), { k: null });
    assert.deepEqual(decoded('k&k=2'), { k: '2' });
  });

  it('stops at a raw slash', () => {
    assert.deepEqual(decoded('a=1/b=2'), { a: '1' });
    assert.deepEqual(decoded('a/b=2'), { a: null });
    assert.deepEqual(decoded('/a=1'), {});
  });

  it('refuses empty names, a trailing & and = inside a value', () => {
    for (const text of ['=v', '&a=1', 'a=1&&b=2', 'a=1&', 'a&', '&', 'a=b=c', 'a==b']) refused(text);
  });

  it('keeps keys in order of first appearance, a key named __proto__ as data', () => {
    const properties = decodedMap('__proto__=x&constructor=y&toString&2=a&1=b&__proto__=z');
    assert.deepEqual([...properties], [['__proto__', 'z'], ['constructor', 'y'], ['toString', null], ['2', 'a'], ['1', 'b']]);
  });

  it('decodes a 64 KiB value', () => {
    const value = 'v'.repeat(65_536);
    assert.equal(decodedMap(`big=${value}`).get('big'), value);
  });
});

describe('unescapeDataString (Uri.UnescapeDataString rules)', () => {
  it('leaves malformed escapes as written and decodes the well-formed ones around them', () => {
    const cases: [string, string][] = [
      ['%', '%'],
      ['100%', '100%'],
      ['%zz', '%zz'],
      ['%4', '%4'],
      ['%41%zz%42', 'A%zzB'],
      ['%FF', '%FF'],
      ['%C3', '%C3'],
      ['%C3%A9%C3', 'é%C3'],
      ['%C0%AF', '%C0%AF'], // overlong '/'
      ['%ED%A0%80', '%ED%A0%80'], // UTF-8 of a surrogate
      ['%F4%90%80%80', '%F4%90%80%80'], // above U+10FFFF
      ['%80%41', '%80A'], // stray continuation byte
      ['a%2fb', 'a/b'], // lower-case hex
      ['%F0%9F%98%80x%', '😀x%'],
    ];
    for (const [text, expected] of cases) assert.equal(unescapeDataString(text), expected, text);
  });
});

describe('property bag encoding', () => {
  it('escapes like the Node SDK: $ as %24, RFC 2396 marks kept', () => {
    assert.equal(encodePropertyBag([['$.mid', 'a b'], ['$.to', '/devices/d'], ['k', "(!*')~-_."]]), "%24.mid=a%20b&%24.to=%2Fdevices%2Fd&k=(!*')~-_.");
    assert.equal(encodePropertyBag([['a&b', 'c=d'], ['q?', '#+%']]), 'a%26b=c%3Dd&q%3F=%23%2B%25');
  });

  it('writes null as a bare key and the empty string as k=', () => {
    assert.equal(encodePropertyBag([['n', null], ['e', '']]), 'n&e=');
  });

  it('writes nothing for no properties and leaves out an empty name', () => {
    assert.equal(encodePropertyBag([]), '');
    assert.equal(encodePropertyBag([['', 'x'], ['k', 'v']]), 'k=v');
  });

  it('never throws on a lone surrogate; it is sent as U+FFFD', () => {
    assert.equal(escapeDataString('a\uD800b'), 'a%EF%BF%BDb');
    assert.equal(escapeDataString('\uDC00'), '%EF%BF%BD');
    assert.equal(escapeDataString('😀'), '%F0%9F%98%80');
  });
});

describe('property bag round trip', () => {
  it('decode(encode(map)) is the identity for random maps (seeded)', () => {
    const seed = 0x5eed_2026;
    const next = prng(seed);
    for (let round = 0; round < 2_000; round++) {
      const map = new Map<string, string | null>();
      const count = Math.floor(next() * 6);
      for (let i = 0; i < count; i++) {
        const key = randomText(next, 1);
        const roll = next();
        map.set(key, roll < 0.15 ? null : roll < 0.3 ? '' : randomText(next, 0));
      }
      const bag = encodePropertyBag(map);
      assert.doesNotMatch(bag, /[^A-Za-z0-9\-_.!~*'()%&=]/, `bag must be plain ASCII without topic separators (seed ${seed}, round ${round})`);
      assert.deepEqual(decodedMap(bag), map, `seed ${seed}, round ${round}: ${bag}`);
    }
  });

  it('encode(decode(bag)) gives back canonical bags byte for byte', () => {
    for (const bag of [
      '%24.mid=mid-1&%24.cid=cid-1&%24.ct=application%2Fjson&%24.ce=utf-8&alert=high%20temp',
      '%24.on=output1&p=q',
      '%24.mid=in-1&%24.cdid=dev1&%24.cmid=other&k=v',
      'n&e=&x=%E4%B8%AD',
    ]) {
      assert.equal(encodePropertyBag(decodedMap(bag)), bag);
    }
  });
});
