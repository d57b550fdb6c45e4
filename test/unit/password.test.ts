import { DEFAULT_PASSWORD_LENGTH, generateAppPassword } from '../../src/core/provision/password.js';
import { RegistryDbError } from '../../src/core/errors.js';

describe('generateAppPassword', () => {
  test('40 characters of [A-Za-z0-9] by default, different every time', () => {
    const passwords = Array.from({ length: 200 }, () => generateAppPassword());
    for (const password of passwords) expect(password).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(DEFAULT_PASSWORD_LENGTH).toBeGreaterThanOrEqual(32);
    expect(new Set(passwords).size).toBe(passwords.length);
  });

  test('rejection sampling: bytes 248-255 are skipped, the rest map by byte % 62', () => {
    // 0->A, 25->Z, 26->a, 61->9, 62->A (wraps), 247->9 (247 % 62 = 61); 248 and 255 must be thrown away.
    const script = [248, 0, 255, 25, 26, 61, 62, 247];
    let calls = 0;
    const source = (size: number): Uint8Array => {
      calls += 1;
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = script[(i + (calls - 1) * size) % script.length]!;
      return bytes;
    };
    const password = generateAppPassword(36, source);
    expect(password).toHaveLength(36);
    expect(password.startsWith('AZa9A9')).toBe(true);
  });

  test('a source that only yields biased bytes is asked again rather than used', () => {
    let calls = 0;
    const source = (size: number): Uint8Array => {
      calls += 1;
      return new Uint8Array(size).fill(calls < 3 ? 250 : 1);
    };
    expect(generateAppPassword(32, source)).toBe('B'.repeat(32));
    expect(calls).toBe(3);
  });

  test('every character of the alphabet occurs, roughly uniformly', () => {
    const counts = new Map<string, number>();
    const total = 62 * 1000;
    let drawn = 0;
    while (drawn < total) {
      for (const c of generateAppPassword(1000)) counts.set(c, (counts.get(c) ?? 0) + 1);
      drawn += 1000;
    }
    expect(counts.size).toBe(62);
    // Expected 1000 each; a biased mapping (byte % 62 without rejection) gives the first 8 characters ~1.2x.
    // Bounds are about 6.5 standard deviations wide: a correct generator essentially never fails them.
    for (const n of counts.values()) {
      expect(n).toBeGreaterThan(800);
      expect(n).toBeLessThan(1200);
    }
  });

  test('refuses lengths below the spec floor of 32', () => {
    expect(() => generateAppPassword(31)).toThrow(RegistryDbError);
    expect(() => generateAppPassword(31)).toThrow(/32/);
  });
});
