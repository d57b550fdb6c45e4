import { readFileSync } from 'node:fs';
import path from 'node:path';
import { crc24, parseArmoredPublicKey } from '../../src/core/import/openpgp-key.js';
import { REPO_ROOT } from '../support/fixtures.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');
const fixture = (relative: string) => readFileSync(path.join(FIXTURES, relative), 'utf8');

// RFC 9580, appendix A.3 (sample v6 certificate, fingerprint cb186c4f0609a697e4d52dfa6c722b0c1f1e27c18a56708f6525ec27bad9acc9)
// and A.1 (sample v4 Ed25519Legacy key, fingerprint c959bdbafa32a2f89a153b678cfde12197965a9a).
const RFC9580_V6 = `-----BEGIN PGP PUBLIC KEY BLOCK-----

xioGY4d/4xsAAAAg+U2nu0jWCmHlZ3BqZYfQMxmZu52JGggkLq2EVD34laPCsQYf
GwoAAABCBYJjh3/jAwsJBwUVCg4IDAIWAAKbAwIeCSIhBssYbE8GCaaX5NUt+mxy
KwwfHifBilZwj2Ul7Ce62azJBScJAgcCAAAAAK0oIBA+LX0ifsDm185Ecds2v8lw
gyU2kCcUmKfvBXbAf6rhRYWzuQOwEn7E/aLwIwRaLsdry0+VcallHhSu4RN6HWaE
QsiPlR4zxP/TP7mhfVEe7XWPxtnMUMtf15OyA51YBM4qBmOHf+MZAAAAIIaTJINn
+eUBXbki+PSAld2nhJh/LVmFsS+60WyvXkQ1wpsGGBsKAAAALAWCY4d/4wKbDCIh
BssYbE8GCaaX5NUt+mxyKwwfHifBilZwj2Ul7Ce62azJAAAAAAQBIKbpGG2dWTX8
j+VjFM21J0hqWlEg+bdiojWnKfA5AQpWUWtnNwDEM0g12vYxoWM8Y81W+bHBw805
I8kWVkXU6vFOi+HWvv/ira7ofJu16NnoUkhclkUrk0mXubZvyl4GBg==
-----END PGP PUBLIC KEY BLOCK-----`;
const RFC9580_V4 = `-----BEGIN PGP PUBLIC KEY BLOCK-----

xjMEU/NfCxYJKwYBBAHaRw8BAQdAPwmJlL3ZFu1AUxl5NOSofIBzOhKA1i+AEJku
Q+47JAY=
-----END PGP PUBLIC KEY BLOCK-----`;

describe('parseArmoredPublicKey: key IDs as gpg --show-keys prints them', () => {
  test.each([
    // gpg --show-keys: E3E6E43D84CB852EADB0051D0C0AF313E5FD9F80 (the fixture README's key ID)
    ['the real opentofu key (RSA 4096, new-format packets, armor checksum)', fixture('opentofu-registry/keys/o/opentofu/20231115.asc'), '0C0AF313E5FD9F80'],
    // gpg --list-keys --keyid-format long, when the keys were made (see generated-keys/README.md)
    ['a generated ed25519 key (old-format packets)', fixture('generated-keys/ed25519-a.asc'), 'A8D3B20240F95DD9'],
    ['a generated rsa2048 key', fixture('generated-keys/rsa2048-b.asc'), 'E0F0D7A91408CA84'],
    ['RFC 9580 A.1, a v4 key without checksum line', RFC9580_V4, '8CFDE12197965A9A'],
    ['RFC 9580 A.3, a v6 key: the first 8 octets of its SHA-256 fingerprint', RFC9580_V6, 'CB186C4F0609A697'],
    ['armor headers, CRLF line ends', fixture('opentofu-registry/keys/o/opentofu/20231115.asc').replace('\n\n', '\nComment: test\nVersion: x\n\n').replaceAll('\n', '\r\n'), '0C0AF313E5FD9F80'],
  ])('%s', (_label, armor, keyId) => {
    expect(parseArmoredPublicKey(armor)).toEqual({ ok: true, keyId });
  });

  test.each([
    ['', /has no "-----BEGIN PGP PUBLIC KEY BLOCK-----" line/],
    ['-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjME\n', /has no "-----END PGP PUBLIC KEY BLOCK-----" line/],
    ['-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----', /holds no key data/],
    ['-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64!\n-----END PGP PUBLIC KEY BLOCK-----', /not base64/],
    [RFC9580_V4.replace('Q+47JAY=', 'Q+47JAY=\n=AAAA'), /fails its armor checksum/],
    // A user ID packet (tag 13) where the key packet should be.
    ['-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nzQN0ZXN0\n-----END PGP PUBLIC KEY BLOCK-----', /packet of tag 13, not a public key/],
    // A truncated packet: its length says more than the data holds.
    ['-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjMEU/NfCxYJ\n-----END PGP PUBLIC KEY BLOCK-----', /well-formed OpenPGP packet/],
    // A v9 key packet.
    [`-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n${Buffer.from([0xc6, 3, 9, 0, 0]).toString('base64')}\n-----END PGP PUBLIC KEY BLOCK-----`, /version 9/],
  ])('refuses %j', (armor, problem) => {
    const parsed = parseArmoredPublicKey(armor);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toMatch(problem);
  });

  test('crc24: the RFC 4880 checksum of the real key matches its armor line', () => {
    const armor = fixture('opentofu-registry/keys/o/opentofu/20231115.asc');
    const lines = armor.trim().split('\n');
    const checksum = lines.find((line) => /^=[A-Za-z0-9+/]{4}$/.test(line))!;
    const body = lines.slice(2, lines.indexOf(checksum)).join('');
    expect(crc24(Buffer.from(body, 'base64'))).toBe(Buffer.from(checksum.slice(1), 'base64').readUIntBE(0, 3));
  });
});
