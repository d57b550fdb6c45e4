/**
 * Writes a synthetic registry tree in the layout of the opentofu/registry repository, in the
 * real registry's shape by default: 4,000 providers with a long-tailed number of versions
 * (about 64,000 provider versions, most with 10-14 platforms: about 0.7 million platform
 * rows), 20,000 modules (about 120,000 module versions), and the signing keys of most
 * provider namespaces (`keys/`). Provider files carry full version entries (protocols,
 * shasums URLs, targets with URLs, hashes and sizes; some older ones without h1 and size;
 * some with warnings); module files carry tags with and without a leading `v`, some with
 * commits, a few spelled twice, a few beside a mixed-case duplicate. Deterministic (seeded).
 *
 * It can also write, as CSV, every row an import of the tree produces (`csvDir`), for
 * comparing the import with `psql \copy` of the same rows into the same tables.
 *
 *   node bench/.work/dist/bench/generate-registry-tree.js <dir> [providers] [modules]
 */
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import { crc24, parseArmoredPublicKey } from '../src/core/import/openpgp-key.js';
import { sourceHash, type SourceFile } from '../src/core/import/source-hash.js';

export interface GenerateOptions {
  readonly providers?: number;
  readonly modules?: number;
  readonly seed?: number;
  /** Targets per provider version are drawn (mostly 10-14); set to make smaller files (tests). */
  readonly targetsPerVersion?: number;
  /** Also write one CSV per table: the rows an import produces. */
  readonly csvDir?: string;
}

export interface GeneratedTree {
  readonly root: string;
  readonly providerFiles: number;
  readonly moduleFiles: number;
  readonly keyFiles: number;
  /** Rows an import of the tree produces. */
  readonly providerRows: number;
  readonly platformRows: number;
  readonly moduleRows: number;
  readonly bytes: number;
}

export const REAL_REGISTRY_SIZE = { providers: 4000, modules: 20000 } as const;
/** The tables the CSV files are for, in the order `psql \copy` loads them. */
export const CSV_TABLES = ['registry_providers', 'providers', 'provider_platforms', 'registry_modules', 'modules', 'signing_keys', 'registry_import_sources'] as const;
export type CsvTable = (typeof CSV_TABLES)[number];
/** Each CSV file's columns, as `\copy <table> (<columns>)` needs them. */
export const CSV_COLUMNS: Readonly<Record<CsvTable, readonly string[]>> = {
  registry_providers: ['namespace', 'name', 'warnings', 'versions_document'],
  providers: ['namespace', 'name', 'version', 'source_url', 'published_at', 'protocols', 'shasums_url', 'shasums_signature_url'],
  provider_platforms: ['namespace', 'name', 'version', 'os', 'arch', 'filename', 'download_url', 'shasum', 'h1', 'size'],
  registry_modules: ['namespace', 'name', 'system'],
  modules: ['namespace', 'name', 'provider', 'version', 'source_url', 'published_at', 'tag', 'commit'],
  signing_keys: ['namespace', 'provider', 'file_name', 'key_id', 'ascii_armor'],
  registry_import_sources: ['kind', 'key', 'sha256', 'entries', 'merged', 'version_rows', 'platform_rows'],
};

/** mulberry32: small, fast, good enough for test data. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'aws', 'azure', 'google', 'network', 'vpc', 'cluster', 'kubernetes', 'eks', 'gke', 'aks', 'storage', 'bucket', 'database',
  'postgres', 'mysql', 'redis', 'kafka', 'iam', 'role', 'policy', 'dns', 'route53', 'cdn', 'cloudfront', 'lambda', 'function',
  'queue', 'sns', 'sqs', 'vault', 'secrets', 'monitoring', 'alerts', 'logging', 'backup', 'firewall', 'gateway', 'loadbalancer',
  'compute', 'instance', 'autoscaling', 'registry', 'container', 'pipeline', 'runner', 'identity', 'keyvault', 'label', 'naming',
];
const TARGETS = ['aws', 'azurerm', 'google', 'kubernetes', 'null', 'helm', 'github', 'random', 'vault', 'module', 'oci', 'openstack'];
const PLATFORMS = [
  ['linux', 'amd64'], ['linux', 'arm64'], ['darwin', 'amd64'], ['darwin', 'arm64'], ['windows', 'amd64'], ['linux', '386'],
  ['linux', 'arm'], ['windows', '386'], ['windows', 'arm64'], ['freebsd', 'amd64'], ['freebsd', '386'], ['freebsd', 'arm'],
  ['openbsd', 'amd64'], ['solaris', 'amd64'],
] as const;
const BACKFILL = '2026-04-21T00:00:00Z';
/** The real registry serves its hashicorp providers from the opentofu namespace's mirrors, signed with opentofu's key. */
const HASHICORP_PROVIDERS = 40;

type Random = () => number;

interface Tools {
  readonly next: Random;
  pick<T>(items: readonly T[]): T;
  hex(length: number): string;
  /** Pareto-distributed count: most entries small, a long tail up to `max`. */
  longTail(scale: number, alpha: number, max: number): number;
  timestamp(): string;
  versionsList(count: number): string[];
}

function tools(seed: number): Tools {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  return {
    next,
    pick,
    hex: (length) => Array.from({ length }, () => '0123456789abcdef'[Math.floor(next() * 16)]).join(''),
    longTail: (scale, alpha, max) => Math.min(max, Math.max(1, Math.floor(scale / Math.pow(1 - next(), 1 / alpha)))),
    timestamp: () => {
      if (next() < 0.3) return BACKFILL;
      const ms = Date.UTC(2023, 0, 1) + Math.floor(next() * 3.5 * 365 * 86400_000);
      const nanos = String(Math.floor(next() * 1e9)).padStart(9, '0');
      return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${nanos}Z`);
    },
    versionsList: (count) => {
      const list: string[] = [];
      let [major, minor, patch] = [0, 1, 0];
      for (let i = 0; i < count; i++) {
        const step = next();
        if (step < 0.05) [major, minor, patch] = [major + 1, 0, 0];
        else if (step < 0.3) [minor, patch] = [minor + 1, 0];
        else patch++;
        const pre = next() < 0.04 ? `-rc.${1 + Math.floor(next() * 3)}` : '';
        list.push(`${major}.${minor}.${patch}${pre}`);
      }
      return list.reverse(); // newest first, as in the registry
    },
  };
}

/** A synthetic RSA-4096 OpenPGP public key (key packet and user ID, armored like gpg's): the size of a real one, never used to sign. */
function armoredKey(t: Tools, user: string): string {
  const modulus = Buffer.from(t.hex(1024), 'hex');
  modulus[0] |= 0x80;
  const created = Math.floor(Date.UTC(2023, 0, 1) / 1000 + t.next() * 3 * 365 * 86400);
  const keyBody = Buffer.concat([Buffer.from([4]), uint32(created), Buffer.from([1]), mpi(modulus, 4096), mpi(Buffer.from([1, 0, 1]), 17)]);
  const userId = Buffer.from(user);
  const bytes = Buffer.concat([packet(6, keyBody), packet(13, userId), packet(2, Buffer.from(t.hex(1100), 'hex'))]);
  const lines = bytes.toString('base64').match(/.{1,64}/g)!;
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc24(bytes));
  return `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n${lines.join('\n')}\n=${crc.subarray(1).toString('base64')}\n-----END PGP PUBLIC KEY BLOCK-----\n`;
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

function mpi(value: Buffer, bits: number): Buffer {
  return Buffer.concat([Buffer.from([bits >> 8, bits & 0xff]), value]);
}

/** A new-format packet with a two-octet length (192-8383 octets) or a one-octet one. */
function packet(tag: number, body: Buffer): Buffer {
  const length = body.length;
  const header = length < 192 ? Buffer.from([0xc0 | tag, length]) : Buffer.from([0xc0 | tag, ((length - 192) >> 8) + 192, (length - 192) & 0xff]);
  return Buffer.concat([header, body]);
}

interface Writer {
  file(relative: string, text: string): Buffer;
  row(table: CsvTable, fields: readonly (string | number | null)[]): void;
  readonly bytes: number;
}

export function generateRegistryTree(root: string, options: GenerateOptions = {}): GeneratedTree {
  const t = tools(options.seed ?? 20260421);
  rmSync(root, { recursive: true, force: true });
  const csv = options.csvDir ? openCsv(options.csvDir) : undefined;
  let bytes = 0;
  const writer: Writer = {
    file: (relative, text) => {
      const file = path.join(root, relative);
      mkdirSync(path.dirname(file), { recursive: true });
      const content = Buffer.from(text);
      bytes += content.length;
      writeFileSync(file, content);
      return content;
    },
    row: (table, fields) => csv?.[table].write(csvLine(fields)),
    get bytes() {
      return bytes;
    },
  };
  const providers = writeProviders(t, writer, options);
  const modules = writeModules(t, writer, options.modules ?? REAL_REGISTRY_SIZE.modules);
  const keyFiles = writeKeys(t, writer, providers.namespaces);
  if (csv) for (const table of CSV_TABLES) csv[table].end();
  return {
    root,
    providerFiles: providers.files,
    moduleFiles: modules.files,
    keyFiles,
    providerRows: providers.rows,
    platformRows: providers.platforms,
    moduleRows: modules.rows,
    bytes: writer.bytes,
  };
}

function writeProviders(t: Tools, writer: Writer, options: GenerateOptions): { files: number; rows: number; platforms: number; namespaces: Map<string, string[]> } {
  let rows = 0;
  let platformRows = 0;
  const namespaces = new Map<string, string[]>();
  const count = options.providers ?? REAL_REGISTRY_SIZE.providers;
  for (let i = 0; i < count; i++) {
    const namespace = i < Math.min(HASHICORP_PROVIDERS, count / 10) ? 'hashicorp' : `${WORDS[Math.floor(i / 3) % WORDS.length]}-org${Math.floor(i / 3)}`;
    const name = `${t.pick(WORDS)}${i}`;
    namespaces.set(namespace, [...(namespaces.get(namespace) ?? []), name]);
    const owner = namespace === 'hashicorp' ? 'opentofu' : namespace;
    const versions = t.versionsList(t.longTail(6, 1.5, 400));
    const dated = t.next() < 0.8;
    const hashed = t.next() < 0.95; // older files have no h1 and size
    const warnings = t.next() < 0.03 ? [`This provider is deprecated. Please use ${t.pick(WORDS)}/${t.pick(WORDS)} instead.`] : undefined;
    const entries = versions.map((version) => {
      const platformCount = options.targetsPerVersion ?? (t.next() < 0.85 ? 10 + Math.floor(t.next() * 5) : 4 + Math.floor(t.next() * 6));
      const base = `https://github.com/${owner}/terraform-provider-${name}/releases/download/v${version}/terraform-provider-${name}_${version}`;
      const targets = PLATFORMS.slice(0, platformCount).map(([os, arch]) => {
        const filename = `terraform-provider-${name}_${version}_${os}_${arch}.zip`;
        const target = { os, arch, filename, download_url: `${base.slice(0, base.lastIndexOf('/'))}/${filename}`, shasum: t.hex(64) };
        return hashed ? { ...target, h1: `h1:${Buffer.from(t.hex(64), 'hex').toString('base64')}`, size: 5_000_000 + Math.floor(t.next() * 30_000_000) } : target;
      });
      const protocols = [t.next() < 0.7 ? '5.0' : '6.0'];
      return { version, protocols, shasums_url: `${base}_SHA256SUMS`, shasums_signature_url: `${base}_SHA256SUMS.sig`, targets, ...(dated ? { discovered: t.timestamp() } : {}) };
    });
    const relative = `providers/${namespace[0]}/${namespace}/${name}.json`;
    const content = writer.file(relative, JSON.stringify(warnings ? { versions: entries, warnings } : { versions: entries }, null, 2));
    // The listing import stores beside the rows: versions and platforms in the file's order.
    const listing = entries.map((entry) => ({ version: entry.version, protocols: entry.protocols, platforms: entry.targets.map(({ os, arch }) => ({ os, arch })) }));
    writer.row('registry_providers', [namespace, name, warnings ? pgArray(warnings) : null, JSON.stringify(warnings ? { versions: listing, warnings } : { versions: listing })]);
    let platforms = 0;
    for (const entry of entries) {
      rows++;
      writer.row('providers', [namespace, name, entry.version, `https://github.com/${owner}/terraform-provider-${name}`, entry.discovered ?? null, pgArray(entry.protocols), entry.shasums_url, entry.shasums_signature_url]);
      for (const target of entry.targets as { os: string; arch: string; filename: string; download_url: string; shasum: string; h1?: string; size?: number }[]) {
        writer.row('provider_platforms', [namespace, name, entry.version, target.os, target.arch, target.filename, target.download_url, target.shasum, target.h1 ?? null, target.size ?? null]);
        platforms++;
      }
    }
    platformRows += platforms;
    writer.row('registry_import_sources', ['provider', `${namespace}/${name}`, sourceHash([{ relativePath: relative, bytes: content }]), entries.length, 0, entries.length, platforms]);
  }
  return { files: count, rows, platforms: platformRows, namespaces };
}

interface ModuleEntry {
  version: string;
  commit?: string;
  discovered?: string;
}

function writeModules(t: Tools, writer: Writer, count: number): { files: number; rows: number } {
  let rows = 0;
  let files = 0;
  for (let i = 0; i < count; i++) {
    const namespace = `${WORDS[Math.floor(i / 6) % WORDS.length]}-team${Math.floor(i / 6)}`;
    const name = `${t.pick(WORDS)}-${t.pick(WORDS)}-${i}`;
    const target = t.pick(TARGETS);
    const versions = t.versionsList(t.longTail(2.2, 1.5, 600));
    const dated = t.next() < 0.5;
    const prefix = t.next() < 0.7 ? 'v' : '';
    const entries: ModuleEntry[] = versions.map((version) => (dated ? { version: `${prefix}${version}`, commit: t.hex(40), discovered: t.timestamp() } : { version: `${prefix}${version}` }));
    // Now and then a tag spelled twice (v1.0.0 and 1.0.0): one row, from the entry the registry serves (the last).
    if (t.next() < 0.01) entries.push({ version: prefix === 'v' ? versions[0]! : `v${versions[0]}` });
    const relative = `modules/${namespace[0]}/${namespace}/${name}/${target}.json`;
    const sources: SourceFile[] = [{ relativePath: relative, bytes: writer.file(relative, JSON.stringify({ versions: entries }, null, 2)) }];
    files++;
    // Now and then the same module also under a mixed-case namespace, with older bare versions: merged, the lower-case file winning.
    let mixedEntries = 0;
    if (t.next() < 0.01) {
      const mixed = namespace[0]!.toUpperCase() + namespace.slice(1);
      const mixedRelative = `modules/${namespace[0]}/${mixed}/${name}/${target}.json`;
      const older = versions.slice(-3).map((version) => ({ version }));
      sources.push({ relativePath: mixedRelative, bytes: writer.file(mixedRelative, JSON.stringify({ versions: older }, null, 2)) });
      mixedEntries = older.length;
      files++;
    }
    const served = new Map<string, ModuleEntry>();
    for (const entry of entries) served.set(entry.version.replace(/^v/, ''), entry);
    writer.row('registry_modules', [namespace, name, target]);
    for (const [version, entry] of served) {
      writer.row('modules', [namespace, name, target, version, `https://github.com/${namespace}/terraform-${target}-${name}`, entry.discovered ?? null, entry.version, entry.commit ?? null]);
    }
    rows += served.size;
    const merged = entries.length + mixedEntries - served.size;
    writer.row('registry_import_sources', ['module', `${namespace}/${name}/${target}`, sourceHash(sources), entries.length + mixedEntries, merged, served.size, 0]);
  }
  return { files, rows };
}

/** Most namespaces have a key of their own; a few providers one more; hashicorp's are opentofu's. */
function writeKeys(t: Tools, writer: Writer, namespaces: ReadonlyMap<string, readonly string[]>): number {
  let files = 0;
  const write = (namespace: string, provider: string, fileName: string) => {
    const relative = `keys/${namespace[0]}/${namespace}/${provider ? `${provider}/` : ''}${fileName}`;
    const armor = armoredKey(t, `${namespace} release signing <${namespace}@example.invalid>`);
    writer.file(relative, armor);
    const parsed = parseArmoredPublicKey(armor);
    if (!parsed.ok) throw new Error(`generated key ${relative} ${parsed.problem}`);
    writer.row('signing_keys', [namespace, provider, fileName, parsed.keyId, armor]);
    files++;
  };
  for (const [namespace, providers] of [...namespaces.entries(), ['opentofu', []] as const]) {
    if (namespace === 'hashicorp') continue;
    if (namespace === 'opentofu' || t.next() < 0.85) write(namespace, '', `${20230101 + Math.floor(t.next() * 1000)}.asc`);
    for (const provider of providers) if (t.next() < 0.05) write(namespace, provider, `${createHash('sha1').update(provider).digest('hex').slice(0, 8)}.asc`);
  }
  return files;
}

/** A text[] literal: every element double-quoted, `"` and `\` escaped. */
function pgArray(items: readonly string[]): string {
  return `{${items.map((item) => `"${item.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}

/** A synchronous, buffered line writer: the generator stays a plain function. */
class LineFile {
  private buffer: string[] = [];
  private size = 0;
  private readonly fd: number;
  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }
  write(line: string): void {
    this.buffer.push(line);
    this.size += line.length;
    if (this.size > 1 << 20) this.flush();
  }
  end(): void {
    this.flush();
    closeSync(this.fd);
  }
  private flush(): void {
    writeSync(this.fd, this.buffer.join(''));
    this.buffer = [];
    this.size = 0;
  }
}

function openCsv(dir: string): Record<CsvTable, LineFile> {
  mkdirSync(dir, { recursive: true });
  return Object.fromEntries(CSV_TABLES.map((table) => [table, new LineFile(path.join(dir, `${table}.csv`))])) as Record<CsvTable, LineFile>;
}

/** CSV as COPY reads it: an empty unquoted field is NULL; a field with a comma, quote or line break is quoted. */
function csvLine(fields: readonly (string | number | null)[]): string {
  return fields.map((f) => (f === null ? '' : typeof f === 'number' ? String(f) : /[",\n\r]/.test(f) || f === '' ? `"${f.replaceAll('"', '""')}"` : f)).join(',') + '\n';
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [dir, providers, modules] = process.argv.slice(2);
  if (!dir) {
    process.stderr.write('usage: generate-registry-tree <dir> [providers] [modules]\n');
    process.exit(2);
  }
  const tree = generateRegistryTree(dir, { providers: providers ? Number(providers) : undefined, modules: modules ? Number(modules) : undefined, csvDir: process.env.CSV_DIR });
  process.stdout.write(JSON.stringify(tree) + '\n');
}
