import { BufferPool, Chunk } from '../../src/core/import/chunk.js';

const provider = (n: number) => ({
  kind: 'provider' as const,
  lines: { registry: `r${n}\n`, source: `s${n}\n`, versions: `v${n}\n`, platforms: `p${n}é\n` },
});

const text = (buffers: readonly Buffer[]) => Buffer.concat(buffers).toString();

describe('Chunk', () => {
  test('keeps each table\'s lines in order, as UTF-8, and counts their bytes', () => {
    const chunk = new Chunk(new BufferPool());
    chunk.add(provider(1));
    chunk.add(provider(2));
    chunk.add({ kind: 'keys', keys: '', keptNamespace: 'acme\n' });
    expect(text(chunk.part('registry'))).toBe('r1\nr2\n');
    expect(text(chunk.part('platforms'))).toBe('p1é\np2é\n');
    expect(chunk.part('keys')).toEqual([]);
    expect(text(chunk.part('keptNamespaces'))).toBe('acme\n');
    expect(chunk.bytes('platforms')).toBe(10);
    expect(chunk.bytes()).toBe(6 + 6 + 6 + 10 + 5);
  });

  test('take moves some tables into a chunk of their own; release returns their buffers for reuse', () => {
    const pool = new BufferPool();
    const chunk = new Chunk(pool);
    chunk.add(provider(1));
    const taken = chunk.take(['versions', 'platforms']);
    expect(text(taken.part('versions'))).toBe('v1\n');
    expect(chunk.bytes('versions')).toBe(0);
    expect(text(chunk.part('registry'))).toBe('r1\n');
    const buffer = taken.part('versions')[0]!.buffer;
    taken.release();
    expect(taken.bytes()).toBe(0);
    chunk.add(provider(2));
    expect([chunk.part('versions')[0]!.buffer, chunk.part('platforms')[0]!.buffer]).toContain(buffer);
  });

  test('an entity larger than a segment spans several, none grown: the buffers stay one size however large a provider is', () => {
    const chunk = new Chunk(new BufferPool(16));
    const big = 'x'.repeat(100);
    chunk.add({ kind: 'module', lines: { registry: 'r\n', source: '', versions: big } });
    chunk.add({ kind: 'module', lines: { registry: 'r\n', source: '', versions: big } });
    expect(text(chunk.part('versions'))).toBe(big + big);
    expect(chunk.bytes('versions')).toBe(200);
    expect(Math.max(...chunk.part('versions').map((segment) => segment.length))).toBe(16);
    expect(chunk.bytes('sources')).toBe(0);
  });

  test('multi-byte characters and surrogate pairs at a segment\'s end are never split', () => {
    const chunk = new Chunk(new BufferPool(16));
    const lines = `${'é'.repeat(11)}\t${'😀'.repeat(9)}a\u20ac\n`.repeat(5);
    chunk.add({ kind: 'module', lines: { registry: lines, source: '', versions: '' } });
    expect(text(chunk.part('registry'))).toBe(lines);
    expect(chunk.bytes('registry')).toBe(Buffer.byteLength(lines));
    // Each segment decodes on its own: no character straddles two.
    expect(chunk.part('registry').map((segment) => segment.toString()).join('')).toBe(lines);
  });
});
