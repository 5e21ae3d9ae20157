import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSasToken, type SasToken } from '../../src/hub/auth/index.js';

const SIG = encodeURIComponent('JgJtlCPbo/Mms5zqOVjE54cozzg2IN+TLxYlTQZGBmk=');

function parsed(text: string): SasToken {
  const result = parseSasToken(text);
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result.token;
}

function refused(text: string): string {
  const result = parseSasToken(text);
  assert.ok(!result.ok, `expected a refusal of ${text}`);
  return result.reason;
}

describe('parseSasToken', () => {
  it('reads the token the Node SDK sent (azure-iot-sdk-wire.md, capture A)', () => {
    const token = parsed(`SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdev1&sig=${SIG}&se=1795484507`);
    assert.equal(token.resourceRaw, 'myhub.azure-devices.net%2Fdevices%2Fdev1', 'sr stays raw: it is what was signed');
    assert.equal(token.signature, 'JgJtlCPbo/Mms5zqOVjE54cozzg2IN+TLxYlTQZGBmk=', 'sig is url-decoded');
    assert.equal(token.expiryRaw, '1795484507');
    assert.equal(token.expirySec, 1795484507);
    assert.equal(token.hostname, 'myhub.azure-devices.net');
    assert.deepEqual(token.deviceIds, ['dev1']);
    assert.equal(token.moduleIds, undefined);
    assert.equal(token.keyName, undefined);
  });

  it('reads a module audience, fields in any order, and skn', () => {
    const token = parsed(`SharedAccessSignature se=1795484510&skn=device%20key&sig=${SIG}&sr=myhub.azure-devices.net%2Fdevices%2Fdev1%2Fmodules%2Fmod1`);
    assert.deepEqual(token.deviceIds, ['dev1']);
    assert.deepEqual(token.moduleIds, ['mod1']);
    assert.equal(token.keyName, 'device key');
  });

  it('keeps both spellings of an id the C# builders encode twice', () => {
    // C#: UrlEncode("{hub}/devices/{UrlEncode(id)}") — the id "a b" arrives as a%2520b.
    const token = parsed(`SharedAccessSignature sr=${encodeURIComponent(`h/devices/${encodeURIComponent('a b')}/modules/${encodeURIComponent('$m')}`)}&sig=${SIG}&se=1`);
    assert.deepEqual(token.deviceIds, ['a%20b', 'a b']);
    assert.deepEqual(token.moduleIds, ['%24m', '$m']);
  });

  it('accepts a fractional expiry and ignores unknown fields, as EdgeHub does', () => {
    assert.equal(parsed(`SharedAccessSignature sr=h%2Fdevices%2Fd&sig=${SIG}&se=1700000000.5&x=1`).expirySec, 1700000000.5);
  });

  it('refuses anything but exactly two whitespace-separated parts', () => {
    assert.match(refused(`SharedAccessSignature  sr=h%2Fdevices%2Fd&sig=${SIG}&se=1`), /exactly one space/);
    assert.match(refused(`SharedAccessSignature sr=h%2Fdevices%2Fd&sig=${SIG}&se=1 extra`), /exactly one space/);
    assert.match(refused(`sr=h%2Fdevices%2Fd&sig=${SIG}&se=1`), /exactly one space/);
    assert.match(refused(` SharedAccessSignature sr=h%2Fdevices%2Fd&sig=${SIG}&se=1`), /exactly one space/);
    assert.match(refused(''), /exactly one space/);
  });

  it('refuses another scheme word, case included', () => {
    assert.match(refused(`sharedaccesssignature sr=h%2Fdevices%2Fd&sig=${SIG}&se=1`), /does not start with SharedAccessSignature/);
    assert.match(refused(`Bearer sr=h%2Fdevices%2Fd&sig=${SIG}&se=1`), /does not start with SharedAccessSignature/);
  });

  it('refuses missing, empty, repeated and nameless fields', () => {
    assert.match(refused(`SharedAccessSignature sig=${SIG}&se=1`), /no sr/);
    assert.match(refused('SharedAccessSignature sr=h%2Fdevices%2Fd&se=1'), /no sig/);
    assert.match(refused(`SharedAccessSignature sr=h%2Fdevices%2Fd&sig=${SIG}`), /no se/);
    assert.match(refused(`SharedAccessSignature sr=&sig=${SIG}&se=1`), /no sr/);
    assert.match(refused(`SharedAccessSignature sr=h%2Fdevices%2Fd&sig=${SIG}&se=1&se=2`), /repeats the field se/);
    assert.match(refused(`SharedAccessSignature sr=h%2Fdevices%2Fd&sig=${SIG}&se=1&`), /empty field/);
    assert.match(refused(`SharedAccessSignature sr=h%2Fdevices%2Fd&sig=${SIG}&=x&se=1`), /without a name/);
    assert.match(refused(`SharedAccessSignature sr=h%2Fdevices%2Fd&sig=${SIG}&se`), /empty field|no se/);
  });

  it('refuses an expiry that is not a number of seconds', () => {
    for (const se of ['-1', 'soon', '1e9', '0x10', '1.', '12345678901234567']) assert.match(refused(`SharedAccessSignature sr=h%2Fdevices%2Fd&sig=${SIG}&se=${se}`), /expiry/, se);
  });

  it('refuses bad url-encoding in sr, sig and skn', () => {
    assert.match(refused(`SharedAccessSignature sr=h%2Fdevices%2Fd%ZZ&sig=${SIG}&se=1`), /sr\) is not url-encoded/);
    assert.match(refused('SharedAccessSignature sr=h%2Fdevices%2Fd&sig=%E0%A4%A&se=1'), /signature is not url-encoded/);
    assert.match(refused(`SharedAccessSignature sr=h%2Fdevices%2Fd&sig=${SIG}&se=1&skn=%`), /skn/);
  });

  it('refuses audiences that are not {host}/devices/{d}[/modules/{m}]', () => {
    for (const audience of ['h', 'h/devices', 'h/devices/d/', 'h/things/d', 'h/devices/d/modules', 'h/devices/d/mods/m', 'h/devices/d/modules/m/x', '/devices/d', 'h/devices//modules/m', 'h/devices/d/modules/']) {
      assert.match(refused(`SharedAccessSignature sr=${encodeURIComponent(audience)}&sig=${SIG}&se=1`), /resource \(sr\)/, audience);
    }
  });

  it('accepts DEVICES and MODULES in any case (EdgeHub compares them case-insensitively)', () => {
    assert.deepEqual(parsed(`SharedAccessSignature sr=${encodeURIComponent('h/DEVICES/d/Modules/m')}&sig=${SIG}&se=1`).moduleIds, ['m']);
  });

  it('refuses an oversized token before looking at it', () => {
    assert.match(refused(`SharedAccessSignature sr=h%2Fdevices%2Fd&sig=${SIG}&se=1&pad=${'x'.repeat(5000)}`), /too long/);
  });

  it('never quotes the token in a reason', () => {
    const secret = 'S3cr3tSignatureValue';
    for (const text of [`SharedAccessSignature sr=h%2Fdevices%2Fd&sig=${secret}&se=x`, `Bearer ${secret}`, `SharedAccessSignature sig=${secret}`]) {
      assert.ok(!refused(text).includes(secret));
    }
  });
});
