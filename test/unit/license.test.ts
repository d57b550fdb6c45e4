import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../support/fixtures.js';

describe('LICENSE', () => {
  test('is the full, unmodified Mozilla Public License 2.0 that package.json names', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { license: string };
    expect(pkg.license).toBe('MPL-2.0');
    const text = readFileSync(path.join(REPO_ROOT, 'LICENSE'));
    expect(text.toString('utf8').split('\n')[0]).toBe('Mozilla Public License Version 2.0');
    // The text Mozilla publishes (mozilla.org/MPL/2.0/, plain text; also Debian's common-licenses/MPL-2.0).
    expect(createHash('sha256').update(text).digest('hex')).toBe('fab3dd6bdab226f1c08630b1dd917e11fcb4ec5e1e020e2c16f83a0a13863e85');
  });
});
