import { BufferPool, Chunk } from '../../src/core/import/chunk.js';

const provider = (n: number) => ({
  kind: 'provider' as const,
  lines: { registry: `r${n}\n`, source: `s${n}\n`, versions: `v${n}\n`, platforms: `p${n}é\n` },
});

describe('Chunk', () => {
  test('keeps each table\'s lines in order, as UTF-8, and counts their bytes', () => {
    const chunk = new Chunk(new BufferPool(4));
    chunk.add(provider(1));
    chunk.add(provider(2));
    chunk.add({ kind: 'keys', keys: '', keptNamespace: 'acme\n' });
    expect(chunk.part('registry').toString()).toBe('r1\nr2\n');
    expect(chunk.part('platforms').toString()).toBe('p1é\np2é\n');
    expect(chunk.part('keys').length).toBe(0);
    expect(chunk.part('keptNamespaces').toString()).toBe('acme\n');
    expect(chunk.bytes('platforms')).toBe(10);
    expect(chunk.bytes()).toBe(6 + 6 + 6 + 10 + 5);
  });

  test('take moves some tables into a chunk of their own; release returns their buffers for reuse', () => {
    const pool = new BufferPool(64);
    const chunk = new Chunk(pool);
    chunk.add(provider(1));
    const taken = chunk.take(['versions', 'platforms']);
    expect(taken.part('versions').toString()).toBe('v1\n');
    expect(chunk.bytes('versions')).toBe(0);
    expect(chunk.part('registry').toString()).toBe('r1\n');
    const buffer = taken.part('versions').buffer;
    taken.release();
    expect(taken.bytes()).toBe(0);
    chunk.add(provider(2));
    expect([chunk.part('versions').buffer, chunk.part('platforms').buffer]).toContain(buffer);
  });

  test('a part grows beyond the pool\'s size when an entity needs it', () => {
    const chunk = new Chunk(new BufferPool(8));
    const big = 'x'.repeat(100);
    chunk.add({ kind: 'module', lines: { registry: 'r\n', source: '', versions: big } });
    chunk.add({ kind: 'module', lines: { registry: 'r\n', source: '', versions: big } });
    expect(chunk.part('versions').toString()).toBe(big + big);
    expect(chunk.bytes('sources')).toBe(0);
  });
});
