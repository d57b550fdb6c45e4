/**
 * Writes a synthetic registry tree in the layout of the opentofu/registry repository, at
 * its real size by default: 4,000 providers and 20,000 modules with a long-tailed number
 * of versions (most entries have a few, some hundreds), several hundred thousand rows in
 * all. Provider files carry full version entries (protocols, shasums URLs, 6-14 targets
 * with URLs and hashes), so the bytes to parse are realistic too. Deterministic (seeded).
 *
 * It can also write the rows an import must produce as CSV (`csvDir`), for comparing the
 * import with `psql \copy` of the same rows.
 *
 *   node bench/.work/dist/bench/generate-registry-tree.js <dir> [providers] [modules]
 */
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface GenerateOptions {
  readonly providers?: number;
  readonly modules?: number;
  readonly seed?: number;
  /** Targets per provider version are drawn from 6-14; set to make smaller files (tests). */
  readonly targetsPerVersion?: number;
  /** Also write providers.csv and modules.csv: the rows an import produces. */
  readonly csvDir?: string;
}

export interface GeneratedTree {
  readonly root: string;
  readonly providerFiles: number;
  readonly moduleFiles: number;
  /** Distinct rows an import of the tree produces. */
  readonly providerRows: number;
  readonly moduleRows: number;
  readonly bytes: number;
}

export const REAL_REGISTRY_SIZE = { providers: 4000, modules: 20000 } as const;

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
  ['linux', 'amd64'], ['linux', 'arm64'], ['linux', '386'], ['linux', 'arm'], ['darwin', 'amd64'], ['darwin', 'arm64'],
  ['windows', 'amd64'], ['windows', '386'], ['windows', 'arm64'], ['freebsd', 'amd64'], ['freebsd', '386'], ['freebsd', 'arm'],
  ['openbsd', 'amd64'], ['solaris', 'amd64'],
] as const;
const BACKFILL = '2026-04-21T00:00:00Z';

export function generateRegistryTree(root: string, options: GenerateOptions = {}): GeneratedTree {
  const next = random(options.seed ?? 20260421);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const hex = (length: number) => Array.from({ length }, () => '0123456789abcdef'[Math.floor(next() * 16)]).join('');
  const word = () => pick(WORDS);
  /** Pareto-distributed count: most entries small, a long tail up to `max`. */
  const longTail = (scale: number, alpha: number, max: number) => Math.min(max, Math.max(1, Math.floor(scale / Math.pow(1 - next(), 1 / alpha))));
  const timestamp = (): string => {
    if (next() < 0.3) return BACKFILL;
    const ms = Date.UTC(2023, 0, 1) + Math.floor(next() * 3.5 * 365 * 86400_000);
    const nanos = String(Math.floor(next() * 1e9)).padStart(9, '0');
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${nanos}Z`);
  };
  const versionsList = (count: number): string[] => {
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
  };

  rmSync(root, { recursive: true, force: true });
  const csv = options.csvDir ? openCsv(options.csvDir) : undefined;
  let bytes = 0;
  const write = (relative: string, document: unknown) => {
    const file = path.join(root, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    const text = JSON.stringify(document, null, 2);
    bytes += Buffer.byteLength(text);
    writeFileSync(file, text);
  };

  let providerRows = 0;
  const providerCount = options.providers ?? REAL_REGISTRY_SIZE.providers;
  for (let i = 0; i < providerCount; i++) {
    const namespace = `${word()}-org${Math.floor(i / 3)}`;
    const name = `${word()}${i}`;
    const owner = namespace;
    const versions = versionsList(longTail(6, 1.2, 400));
    const dated = next() < 0.8;
    const entries = versions.map((version) => {
      const targets = PLATFORMS.slice(0, options.targetsPerVersion ?? 6 + Math.floor(next() * 9)).map(([os, arch]) => {
        const filename = `terraform-provider-${name}_${version}_${os}_${arch}.zip`;
        return {
          os,
          arch,
          filename,
          download_url: `https://github.com/${owner}/terraform-provider-${name}/releases/download/v${version}/${filename}`,
          shasum: hex(64),
          h1: `h1:${Buffer.from(hex(64), 'hex').toString('base64')}`,
          size: 5_000_000 + Math.floor(next() * 30_000_000),
        };
      });
      const base = `https://github.com/${owner}/terraform-provider-${name}/releases/download/v${version}/terraform-provider-${name}_${version}`;
      return {
        version,
        protocols: [next() < 0.7 ? '5.0' : '6.0'],
        shasums_url: `${base}_SHA256SUMS`,
        shasums_signature_url: `${base}_SHA256SUMS.sig`,
        targets,
        ...(dated ? { discovered: timestamp() } : {}),
      };
    });
    write(`providers/${namespace[0]}/${namespace}/${name}.json`, { versions: entries });
    for (const entry of entries) {
      csv?.providers.write(csvLine([namespace, name, entry.version, `https://github.com/${owner}/terraform-provider-${name}`, entry.discovered ?? null]));
    }
    providerRows += entries.length;
  }

  let moduleRows = 0;
  let moduleFiles = 0;
  const moduleCount = options.modules ?? REAL_REGISTRY_SIZE.modules;
  for (let i = 0; i < moduleCount; i++) {
    const namespace = `${word()}-team${Math.floor(i / 6)}`;
    const name = `${word()}-${word()}-${i}`;
    const target = pick(TARGETS);
    const versions = versionsList(longTail(3, 1.1, 600));
    const dated = next() < 0.5;
    const prefix = next() < 0.7 ? 'v' : '';
    const entries: { version: string; commit?: string; discovered?: string }[] = versions.map((version) =>
      dated ? { version: `${prefix}${version}`, commit: hex(40), discovered: timestamp() } : { version: `${prefix}${version}` },
    );
    // Now and then a tag spelled twice (v1.0.0 and 1.0.0): one row.
    if (next() < 0.01) entries.push({ version: prefix === 'v' ? versions[0]! : `v${versions[0]}` });
    write(`modules/${namespace[0]}/${namespace}/${name}/${target}.json`, { versions: entries });
    moduleFiles++;
    // Now and then the same module also under a mixed-case namespace, with older bare versions: merged.
    if (next() < 0.01) {
      const mixed = namespace[0]!.toUpperCase() + namespace.slice(1);
      write(`modules/${namespace[0]}/${mixed}/${name}/${target}.json`, { versions: versions.slice(-3).map((version) => ({ version })) });
      moduleFiles++;
    }
    const seen = new Set<string>();
    for (const entry of entries) {
      const version = entry.version.replace(/^v/, '');
      if (seen.has(version)) continue;
      seen.add(version);
      csv?.modules.write(csvLine([namespace, name, target, version, `https://github.com/${namespace}/terraform-${target}-${name}`, entry.discovered ?? null]));
      moduleRows++;
    }
  }
  csv?.providers.end();
  csv?.modules.end();
  return { root, providerFiles: providerCount, moduleFiles, providerRows, moduleRows, bytes };
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

function openCsv(dir: string): { providers: LineFile; modules: LineFile } {
  mkdirSync(dir, { recursive: true });
  return { providers: new LineFile(path.join(dir, 'providers.csv')), modules: new LineFile(path.join(dir, 'modules.csv')) };
}

/** CSV as COPY reads it: an empty unquoted field is NULL; a field with a comma or quote is quoted. */
function csvLine(fields: readonly (string | null)[]): string {
  return fields.map((f) => (f === null ? '' : /[",\n\r]/.test(f) || f === '' ? `"${f.replaceAll('"', '""')}"` : f)).join(',') + '\n';
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [dir, providers, modules] = process.argv.slice(2);
  if (!dir) {
    process.stderr.write('usage: generate-registry-tree <dir> [providers] [modules]\n');
    process.exit(2);
  }
  const tree = generateRegistryTree(dir, { providers: providers ? Number(providers) : undefined, modules: modules ? Number(modules) : undefined });
  process.stdout.write(JSON.stringify(tree) + '\n');
}
