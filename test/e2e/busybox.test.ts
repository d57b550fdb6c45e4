/**
 * The launcher under BusyBox (Alpine, the node:alpine images): its env has no -S, and its sh
 * is ash. The kernel runs a #! line as `<interpreter> <one argument> <script> <args…>`; here
 * the interpreter is BusyBox's (Debian's busybox package), as Alpine's /bin/sh and
 * /usr/bin/env are, and so is every `sh` and `env` on PATH.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { BIN, REPO_ROOT, tempDir } from '../support/fixtures.js';

const BUSYBOX = '/usr/bin/busybox';
const version = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version as string;

/** A PATH whose `sh` and `env` are BusyBox's applets, then node's folder. */
function busyboxPath(): string {
  const dir = path.join(tempDir('trdb-busybox-'), 'bin');
  mkdirSync(dir);
  for (const applet of ['sh', 'env']) symlinkSync(BUSYBOX, path.join(dir, applet));
  return `${dir}:${path.dirname(process.execPath)}`;
}

/**
 * What the kernel does with a #! line: the interpreter, its one argument, the script, the
 * arguments; with Alpine's /bin/sh and /usr/bin/env, both BusyBox's, in place of Debian's.
 */
function viaShebang(line: string, args: readonly string[], env: Record<string, string>) {
  const match = /^#!\s*(\S+)(?:[ \t]+(.*))?$/.exec(line)!;
  const applet = ({ '/bin/sh': 'sh', '/usr/bin/env': 'env' } as Record<string, string>)[match[1]!];
  expect(applet).toBeDefined();
  const interpreterArgs = match[2] === undefined ? [] : [match[2].trim()];
  return spawnSync(BUSYBOX, [applet!, ...interpreterArgs, BIN, ...args], { env, encoding: 'utf8', timeout: 30_000 });
}

const shebang = () => readFileSync(BIN, 'utf8').split('\n')[0]!;

describe('the bin under BusyBox (env without -S, ash for sh)', () => {
  test('starts: --version and -v, with the arguments passed intact (a path with a space, --env-file kept from Node)', () => {
    const env = { PATH: busyboxPath(), HOME: tempDir() };
    const spaced = path.join(tempDir(), 'a folder', 'missing.env');
    const result = viaShebang(shebang(), ['--env-file', spaced, '--version'], env);
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ status: 0, stdout: `${version}\n` });
    expect(viaShebang(shebang(), ['-v'], env)).toMatchObject({ status: 0, stdout: `${version}\n` });
    const usage = viaShebang(shebang(), ['migrate', 'new', 'two words', '--dir', tempDir()], env);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('"two words"');
  });

  test('keeps the start-up gain: Node starts without NODE_EXTRA_CA_CERTS (a missing file warns nowhere at start-up)', () => {
    const missing = path.join(tempDir(), 'no-such-ca.pem');
    const env = { PATH: busyboxPath(), HOME: tempDir(), NODE_EXTRA_CA_CERTS: missing };
    const launched = viaShebang(shebang(), ['--version'], env);
    expect(launched).toMatchObject({ status: 0, stderr: '' });
    // The check can fail: Node itself, given the variable, reads the file as it starts.
    const plain = spawnSync(process.execPath, ['--', BIN, '--version'], { env, encoding: 'utf8' });
    expect(plain.stderr).toContain(`Ignoring extra certs from \`${missing}\``);
  });

  test('the check can fail: the former `env -S` line does not start under BusyBox', () => {
    const former = '#!/usr/bin/env -S _TOFU_REGISTRY_DB_DEFERRED_CA=${NODE_EXTRA_CA_CERTS} NODE_EXTRA_CA_CERTS=${TOFU_REGISTRY_DB_0} node --';
    const result = viaShebang(former, ['--version'], { PATH: busyboxPath(), HOME: tempDir() });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/invalid option -- 'S'|unrecognized option/);
  });
});
