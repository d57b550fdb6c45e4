import { chownSync, chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { RegistryDbError } from '../../src/core/errors.js';
import { tempDir } from '../support/fixtures.js';
import { editEnvText, quoteEnvValue } from '../../src/core/config/env-text.js';
import { prepareEnvFileUpdate, updateEnvFile } from '../../src/core/config/env-file-update.js';

const USER = 'TOFU_REGISTRY_DB_USER';
const PASSWORD = 'TOFU_REGISTRY_DB_PASSWORD';

function modeOf(file: string): number {
  return statSync(file).mode & 0o777;
}

describe('quoteEnvValue: dotenv reads back exactly what was written', () => {
  test.each([
    ['plain', "'plain'"],
    ['', "''"],
    ['with # hash', "'with # hash'"],
    ['  spaced  ', "'  spaced  '"],
    ['$HOME and ${X}', "'$HOME and ${X}'"],
    ["it's", `"it's"`],
    ['two\nlines', '"two\\nlines"'],
    ['cr\rlf', '"cr\\rlf"'],
    [`it's "quoted"\nand multi-line`, "`it's \"quoted\"\nand multi-line`"],
    ['back\\slash', "'back\\slash'"],
    ['literal \\n not a newline', "'literal \\n not a newline'"],
    ['=equals=', "'=equals='"],
  ])('%j', (value, quoted) => {
    expect(quoteEnvValue(value)).toBe(quoted);
    expect(parseDotenv(`KEY=${quoteEnvValue(value)}\nNEXT='x'\n`)).toEqual({ KEY: value, NEXT: 'x' });
  });

  test('refuses what no quoting can round-trip', () => {
    expect(() => quoteEnvValue('ends with a backslash\\')).toThrow(RegistryDbError);
    expect(() => quoteEnvValue(`all of ' " \` and\na newline`)).toThrow(/dotenv/);
  });
});

describe('editEnvText', () => {
  test('changes a value in place and keeps comments, blank lines, order, export, spacing and inline comments', () => {
    const original = [
      '# registry settings',
      '',
      'OTHER=keep me',
      `export ${USER}=old_user   # the application role`,
      "QUOTED='single # not a comment'",
      'DOUBLE="multi',
      `${USER}=inside a quoted value, not a key`,
      'line"',
      '   # indented comment',
      `${PASSWORD}: "old-password"`,
      'LAST=1',
      '',
    ].join('\n');
    const edit = editEnvText(original, { [USER]: 'new_user', [PASSWORD]: 'n3w', EXTRA: 'added' });
    expect(edit.changedKeys).toEqual([USER, PASSWORD]);
    expect(edit.addedKeys).toEqual(['EXTRA']);
    expect(edit.content).toBe(
      [
        '# registry settings',
        '',
        'OTHER=keep me',
        `export ${USER}='new_user'   # the application role`,
        "QUOTED='single # not a comment'",
        'DOUBLE="multi',
        `${USER}=inside a quoted value, not a key`,
        'line"',
        '   # indented comment',
        `${PASSWORD}: 'n3w'`,
        'LAST=1',
        "EXTRA='added'",
        '',
      ].join('\n'),
    );
    expect(parseDotenv(edit.content)).toEqual({
      OTHER: 'keep me',
      [USER]: 'new_user',
      QUOTED: 'single # not a comment',
      DOUBLE: `multi\n${USER}=inside a quoted value, not a key\nline`,
      [PASSWORD]: 'n3w',
      LAST: '1',
      EXTRA: 'added',
    });
  });

  test('a key already holding the value is left exactly as written', () => {
    const original = `${USER}=app   # same\n${PASSWORD}="secret"\n`;
    const edit = editEnvText(original, { [USER]: 'app', [PASSWORD]: 'secret' });
    expect(edit).toEqual({ content: original, changedKeys: [], addedKeys: [], removedKeys: [] });
  });

  test('every occurrence of a duplicated key is changed (dotenv uses the last one)', () => {
    const edit = editEnvText(`${USER}=a\nX=1\n${USER}=b\n`, { [USER]: 'c' });
    expect(edit.content).toBe(`${USER}='c'\nX=1\n${USER}='c'\n`);
  });

  test('an empty value, with and without an inline comment', () => {
    expect(editEnvText(`${PASSWORD}=\nA=1\n`, { [PASSWORD]: 'p' }).content).toBe(`${PASSWORD}='p'\nA=1\n`);
    expect(editEnvText(`${PASSWORD}= # fill in\n`, { [PASSWORD]: 'p' }).content).toBe(`${PASSWORD}='p' # fill in\n`);
  });

  test('no trailing newline stays without one', () => {
    const edit = editEnvText(`# config\n${USER}=old`, { [USER]: 'new', [PASSWORD]: 'p' });
    expect(edit.content).toBe(`# config\n${USER}='new'\n${PASSWORD}='p'`);
  });

  test('CRLF files get CRLF lines, and their other lines are untouched', () => {
    const edit = editEnvText(`# config\r\nA=1\r\n${USER}=old\r\n`, { [USER]: 'new', [PASSWORD]: 'p' }, { headerComment: 'added by a test' });
    expect(edit.content).toBe(`# config\r\nA=1\r\n${USER}='new'\r\n\r\n# added by a test\r\n${PASSWORD}='p'\r\n`);
    expect(parseDotenv(edit.content)).toEqual({ A: '1', [USER]: 'new', [PASSWORD]: 'p' });
  });

  test('a file that exports every variable gets exported additions', () => {
    const edit = editEnvText('export A=1\nexport B=2\n', { [PASSWORD]: 'p' });
    expect(edit.content).toBe(`export A=1\nexport B=2\nexport ${PASSWORD}='p'\n`);
  });

  test('a new file: the header comment, then the keys in the order given', () => {
    const edit = editEnvText('', { [USER]: 'app', [PASSWORD]: 'p' }, { headerComment: 'Written by a test\nsecond line' });
    expect(edit.content).toBe(`# Written by a test\n# second line\n${USER}='app'\n${PASSWORD}='p'\n`);
  });

  test('refuses an edit that dotenv would read differently (an unterminated quote earlier in the file)', () => {
    // The added comment line ends in a double quote, which would close BROKEN's value and swallow A.
    const original = 'BROKEN="never closed\nA=1\n';
    expect(() => editEnvText(original, { [PASSWORD]: 'p' }, { headerComment: 'a comment that ends in a quote"' })).toThrow(/dotenv would read/);
  });

  test('refuses keys dotenv cannot read', () => {
    expect(() => editEnvText('', { 'BAD KEY': 'x' })).toThrow(RegistryDbError);
  });
});

describe('updateEnvFile on disk', () => {
  test('creates a missing file with mode 0600 whatever the umask, atomically (no temporary file left)', async () => {
    const dir = tempDir();
    const file = path.join(dir, '.env');
    const previousUmask = process.umask(0o000);
    try {
      const result = await updateEnvFile(file, { [USER]: 'app', [PASSWORD]: 'p4ss' }, { headerComment: 'hello' });
      expect(result).toMatchObject({ path: file, target: file, created: true, written: true, addedKeys: [USER, PASSWORD], changedKeys: [], mode: 0o600, warnings: [] });
    } finally {
      process.umask(previousUmask);
    }
    expect(modeOf(file)).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe(`# hello\n${USER}='app'\n${PASSWORD}='p4ss'\n`);
    expect(readdirSync(dir)).toEqual(['.env']);
  });

  test('an existing file keeps its mode and owner, and a readable one is warned about', async () => {
    const dir = tempDir();
    const file = path.join(dir, '.env');
    writeFileSync(file, 'A=1\n');
    chmodSync(file, 0o640);
    chownSync(file, 101, 104); // another user's file, as when root runs the tool on it
    const result = await updateEnvFile(file, { [PASSWORD]: 'p' });
    expect(modeOf(file)).toBe(0o640);
    expect(statSync(file).uid).toBe(101);
    expect(statSync(file).gid).toBe(104);
    expect(result.mode).toBe(0o640);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(/can be read by other users \(mode 0640\).*chmod 600/);

    chmodSync(file, 0o600);
    expect((await updateEnvFile(file, { [PASSWORD]: 'q' })).warnings).toEqual([]);
  });

  test('nothing to change: the file is not rewritten', async () => {
    const dir = tempDir();
    const file = path.join(dir, '.env');
    writeFileSync(file, `${USER}=app\n`);
    const before = statSync(file);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const result = await updateEnvFile(file, { [USER]: 'app' });
    expect(result.written).toBe(false);
    expect(statSync(file).ino).toBe(before.ino);
    expect(statSync(file).mtimeMs).toBe(before.mtimeMs);
  });

  test('a symlinked env file is updated at its target, and stays a symlink', async () => {
    const dir = tempDir();
    const secrets = path.join(dir, 'secrets');
    mkdirSync(secrets);
    const target = path.join(secrets, 'registry.env');
    writeFileSync(target, 'A=1\n', { mode: 0o600 });
    const link = path.join(dir, '.env');
    symlinkSync('secrets/registry.env', link);
    const result = await updateEnvFile(link, { [PASSWORD]: 'p' });
    expect(result).toMatchObject({ path: link, target, created: false });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe(`A=1\n${PASSWORD}='p'\n`);
    expect(readdirSync(secrets)).toEqual(['registry.env']);
  });

  test('a dangling symlink: the file it names is created', async () => {
    const dir = tempDir();
    const link = path.join(dir, '.env');
    symlinkSync(path.join(dir, 'real.env'), link);
    const result = await updateEnvFile(link, { [USER]: 'app' });
    expect(result.created).toBe(true);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(dir, 'real.env'), 'utf8')).toBe(`${USER}='app'\n`);
  });

  test('a folder, a missing folder or a file as folder: exit 2 and nothing written', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'plain-file'), 'x');
    for (const bad of [dir, path.join(dir, 'missing', '.env'), path.join(dir, 'plain-file', '.env')]) {
      const error = (await updateEnvFile(bad, { [USER]: 'app' }).catch((e: unknown) => e)) as RegistryDbError;
      expect(error).toBeInstanceOf(RegistryDbError);
      expect(error.exitCode).toBe(2);
      expect(error.code).toBe('ENV_FILE_UNWRITABLE');
    }
    expect(readdirSync(dir)).toEqual(['plain-file']);
  });

  test('prepare, then discard: the target is untouched and no temporary file is left', async () => {
    const dir = tempDir();
    const file = path.join(dir, '.env');
    writeFileSync(file, 'A=1\n');
    const prepared = await prepareEnvFileUpdate(file, { [PASSWORD]: 'p' });
    expect(readdirSync(dir)).toHaveLength(2); // the prepared temporary file, next to the target
    await prepared.discard();
    expect(readdirSync(dir)).toEqual(['.env']);
    expect(readFileSync(file, 'utf8')).toBe('A=1\n');
  });

  test('commit, then restore: the previous bytes and mode come back; a created file goes away', async () => {
    const dir = tempDir();
    const file = path.join(dir, '.env');
    writeFileSync(file, '# before\r\nA=1');
    chmodSync(file, 0o640);
    const prepared = await prepareEnvFileUpdate(file, { [PASSWORD]: 'p' });
    await prepared.commit();
    expect(readFileSync(file, 'utf8')).toBe(`# before\r\nA=1\r\n${PASSWORD}='p'`);
    await prepared.restore();
    expect(readFileSync(file, 'utf8')).toBe('# before\r\nA=1');
    expect(modeOf(file)).toBe(0o640);
    expect(readdirSync(dir)).toEqual(['.env']);

    const fresh = path.join(dir, 'fresh.env');
    const created = await prepareEnvFileUpdate(fresh, { [USER]: 'app' });
    await created.commit();
    expect(existsSync(fresh)).toBe(true);
    await created.restore();
    expect(existsSync(fresh)).toBe(false);
  });
});
