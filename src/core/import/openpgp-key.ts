import { createHash } from 'node:crypto';

/**
 * The key ID of an ASCII-armored OpenPGP public key, computed from its first packet as
 * RFC 4880 and RFC 9580 define it (what `gpg --show-keys` prints), without running gpg:
 * the registry serves it beside the armor as `signing_keys.gpg_public_keys[].key_id`.
 */

export type ParsedPublicKey = { readonly ok: true; readonly keyId: string } | { readonly ok: false; readonly problem: string };

const BEGIN = '-----BEGIN PGP PUBLIC KEY BLOCK-----';
const END = '-----END PGP PUBLIC KEY BLOCK-----';
const PUBLIC_KEY_PACKET = 6;
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;
const ARMOR_HEADER = /^[^\s:]+: /;

/** CRC-24 of RFC 4880 section 6.1, the armor's checksum line. */
export function crc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let bit = 0; bit < 8; bit++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

/** The armor's payload, its checksum verified where it has one. */
function dearmor(text: string): { ok: true; bytes: Buffer } | { ok: false; problem: string } {
  const lines = text.split(/\r?\n/).map((line) => line.trimEnd());
  const begin = lines.indexOf(BEGIN);
  if (begin === -1) return { ok: false, problem: `has no "${BEGIN}" line` };
  const end = lines.indexOf(END, begin + 1);
  if (end === -1) return { ok: false, problem: `has no "${END}" line` };
  // Armor headers ("Version: …", "Comment: …") come first; base64 never holds ": ".
  let body = begin + 1;
  while (body < end && ARMOR_HEADER.test(lines[body]!)) body++;
  let base64 = '';
  let checksum: string | undefined;
  for (const line of lines.slice(body, end)) {
    if (line === '') continue;
    if (line.startsWith('=') && line.length === 5) {
      checksum = line.slice(1);
      continue;
    }
    if (!BASE64_LINE.test(line)) return { ok: false, problem: 'has a line in its armor that is not base64' };
    base64 += line;
  }
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0) return { ok: false, problem: 'holds no key data' };
  if (checksum !== undefined && Buffer.from(checksum, 'base64').readUIntBE(0, 3) !== crc24(bytes)) {
    return { ok: false, problem: 'fails its armor checksum (CRC-24)' };
  }
  return { ok: true, bytes };
}

/** The first packet's tag and body (new and old packet formats; a key packet never has partial lengths). */
function firstPacket(bytes: Buffer): { tag: number; body: Buffer } | undefined {
  const header = bytes[0]!;
  if ((header & 0x80) === 0) return undefined;
  let tag: number;
  let length: number;
  let offset: number;
  if (header & 0x40) {
    tag = header & 0x3f;
    const first = bytes[1];
    if (first === undefined) return undefined;
    if (first < 192) [length, offset] = [first, 2];
    else if (first < 224) [length, offset] = [((first - 192) << 8) + (bytes[2] ?? 0) + 192, 3];
    else if (first === 255 && bytes.length >= 6) [length, offset] = [bytes.readUInt32BE(2), 6];
    else return undefined;
  } else {
    tag = (header >> 2) & 0x0f;
    const lengthType = header & 0x03;
    if (lengthType === 3) return undefined;
    const size = 1 << lengthType;
    if (bytes.length < 1 + size) return undefined;
    [length, offset] = [bytes.readUIntBE(1, size), 1 + size];
  }
  if (offset + length > bytes.length) return undefined;
  return { tag, body: bytes.subarray(offset, offset + length) };
}

/** v4: SHA-1 over 0x99, a two-octet length and the packet body; the ID is the fingerprint's last 8 octets. */
function keyIdOfBody(body: Buffer): string | undefined {
  const version = body[0];
  if (version === 4) {
    const prefix = Buffer.from([0x99, (body.length >> 8) & 0xff, body.length & 0xff]);
    return createHash('sha1').update(prefix).update(body).digest().subarray(12, 20).toString('hex');
  }
  if (version === 5 || version === 6) {
    // v6 (RFC 9580) and v5 (LibrePGP): SHA-256 over 0x9B / 0x9A and a four-octet length; the ID is the first 8 octets.
    const prefix = Buffer.alloc(5);
    prefix[0] = version === 6 ? 0x9b : 0x9a;
    prefix.writeUInt32BE(body.length, 1);
    return createHash('sha256').update(prefix).update(body).digest().subarray(0, 8).toString('hex');
  }
  if (version === 3 || version === 2) {
    // v3: the low 64 bits of the RSA modulus, the MPI after version, time, validity and algorithm.
    const bits = body.length >= 10 ? body.readUInt16BE(8) : 0;
    const modulus = body.subarray(10, 10 + Math.ceil(bits / 8));
    return modulus.length >= 8 ? modulus.subarray(modulus.length - 8).toString('hex') : undefined;
  }
  return undefined;
}

/** Parses a `.asc` file: its key ID (16 upper-case hex digits), or what is wrong with it. */
export function parseArmoredPublicKey(text: string): ParsedPublicKey {
  const armor = dearmor(text);
  if (!armor.ok) return armor;
  const packet = firstPacket(armor.bytes);
  if (packet === undefined) return { ok: false, problem: 'does not start with a well-formed OpenPGP packet' };
  if (packet.tag !== PUBLIC_KEY_PACKET) return { ok: false, problem: `starts with an OpenPGP packet of tag ${packet.tag}, not a public key (6)` };
  const keyId = keyIdOfBody(packet.body);
  if (keyId === undefined) return { ok: false, problem: `holds a public key of version ${packet.body[0]}, which has no key ID this tool knows` };
  return { ok: true, keyId: keyId.toUpperCase() };
}
