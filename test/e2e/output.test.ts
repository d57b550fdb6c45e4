import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { adminEnv, BIN, dropDatabaseAndRole, runCli, tempDir, uniqueName } from '../support/fixtures.js';

/**
 * Output is written with synchronous writes to the descriptors (src/cli/terminal.ts), not
 * through process.stdout. These run the built binary where that could go wrong.
 */
describe('output without stdio streams (built binary)', () => {
  test('a large result through a non-blocking pipe that fills up arrives whole, in order', async () => {
    const db = uniqueName('e2e_out');
    const env = adminEnv({ TOFU_REGISTRY_DB_NAME: db });
    const dir = tempDir();
    // --dry-run prints every pending migration: ~300 KB, far more than a pipe holds (64 KB).
    const lines = Array.from({ length: 3000 }, (_, i) => `-- line ${String(i).padStart(5, '0')} ${'x'.repeat(80)}`);
    writeFileSync(path.join(dir, '001_big.sql'), `${lines.join('\n')}\nSELECT 1;\n`);
    expect((await runCli(['--env-file', path.join(tempDir(), '.env'), 'create-db', '--no-migrate'], env)).code).toBe(0);
    try {
      // A parent that hands the CLI a non-blocking pipe (Python here; a Node parent cannot,
      // libuv makes inherited stdio blocking) and reads it only after a while: writes to the
      // full pipe fail with EAGAIN, and the rest must still arrive, in order.
      const args = ['--', BIN, '--env-file', path.join(tempDir(), '.env'), 'migrate', '--dry-run', '--dir', dir];
      const parent = [
        'import fcntl, os, subprocess, sys, time',
        'r, w = os.pipe()',
        'fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)',
        `child = subprocess.Popen([sys.argv[1]] + sys.argv[2:], stdout=w)`,
        'os.close(w)',
        'time.sleep(1.5)',
        'out = b""',
        'while chunk := os.read(r, 65536): out += chunk',
        'sys.stdout.buffer.write(out)',
        'sys.exit(child.wait())',
      ].join('\n');
      const child = spawn('python3', ['-c', parent, process.execPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const printed = stdout.split('\n').filter((l) => l.startsWith('-- line '));
      expect(printed).toEqual(lines);
    } finally {
      await dropDatabaseAndRole(db);
    }
  });

  test.each([
    ['--help', ['--help'], 0],
    ['a failing test-connection', ['test-connection'], 3],
    ['a failing test-connection, --json', ['--json', 'test-connection'], 3],
  ])('a closed pipe ends the run quietly with the exit code it had: %s', async (_what, args, expected) => {
    // A closed port: test-connection fails at tcp, after printing its checklist to a reader that is gone.
    const env = adminEnv({ TOFU_REGISTRY_DB_PORT: '1', TOFU_REGISTRY_DB_PASSWORD: 'unused-password-1' });
    const child = spawn(process.execPath, ['--', BIN, '--env-file', path.join(tempDir(), '.env'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before anything is written
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(expected);
    expect(stderr).not.toMatch(/EPIPE|Error:|at /);
  });

  test('a terminal that reports no width (0x0 pty) gets no spinner, and the run ends', async () => {
    // ora divides by the width to clear its lines: at 0 columns it cleared lines forever,
    // megabytes a second, and never exited. --wait against a closed port keeps a step
    // (and so a spinner) running for a second.
    const env = adminEnv({ TOFU_REGISTRY_DB_PORT: '1', TOFU_REGISTRY_DB_NAME: uniqueName('e2e_nowidth') });
    const parent = [
      'import fcntl, os, pty, select, struct, sys, termios, time',
      'pid, fd = pty.fork()',
      'if pid == 0:',
      "    fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack('HHHH', 0, 0, 0, 0))",
      '    os.execv(sys.argv[1], sys.argv[1:])',
      'total, start = 0, time.time()',
      'while time.time() - start < 8:',
      '    if select.select([fd], [], [], 0.5)[0]:',
      '        try: chunk = os.read(fd, 65536)',
      '        except OSError: break',
      '        if not chunk: break',
      '        total += len(chunk)',
      'for _ in range(40):',
      '    done, status = os.waitpid(pid, os.WNOHANG)',
      '    if done: break',
      '    time.sleep(0.05)',
      'if not done: os.kill(pid, 9)',
      "print(total, 'exited' if done else 'still running')",
    ].join('\n');
    const args = [process.execPath, '--', BIN, '--env-file', path.join(tempDir(), '.env'), 'migrate', '--wait', '1'];
    // Not CI, and no CI variable at all (ora spins only where there is none): a spinner is what is tested.
    const { CI: _ci, ...withoutCi } = env;
    const child = spawn('python3', ['-c', parent, ...args], { env: { ...withoutCi, TERM: 'xterm' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    await new Promise((resolve) => child.on('close', resolve));
    const [bytes, state] = [Number(stdout.split(' ')[0]), stdout.trim().split(' ').slice(1).join(' ')];
    expect(state).toBe('exited');
    expect(bytes).toBeLessThan(4096);
  });
});
