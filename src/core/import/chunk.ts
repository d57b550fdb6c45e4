import type { ModuleLines, ProviderLines } from './copy-lines.js';

/** What one provider, module or key namespace contributes to the tables, as COPY lines. */
export type EntityLines =
  | { readonly kind: 'provider'; readonly lines: ProviderLines }
  | { readonly kind: 'module'; readonly lines: ModuleLines }
  | { readonly kind: 'keys'; readonly keys: string; readonly keptNamespace?: string };

/** The tables a chunk has lines for: the kind's own table, its versions and platforms, import's bookkeeping, keys. */
export const PARTS = ['registry', 'versions', 'platforms', 'sources', 'keys', 'keptNamespaces'] as const;
export type Part = (typeof PARTS)[number];

/** Buffers kept for reuse beyond this many are left to the garbage collector. */
const POOL_LIMIT = 16;

/**
 * The buffers chunks are encoded into, reused: a new buffer per entity or per chunk made
 * the process's memory creep up through the whole import (the allocator's fragments), while
 * the JavaScript heap stayed flat.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(private readonly size: number) {}

  get(minimum: number): Buffer {
    const index = this.free.findIndex((buffer) => buffer.length >= minimum);
    if (index !== -1) return this.free.splice(index, 1)[0]!;
    let size = this.size;
    while (size < minimum) size *= 2;
    return Buffer.allocUnsafe(size);
  }

  put(buffer: Buffer): void {
    if (this.free.length < POOL_LIMIT) this.free.push(buffer);
  }
}

interface Slot {
  buffer: Buffer;
  length: number;
}

/**
 * Rows read and not yet sent, per table, encoded as UTF-8 into pooled buffers outside the
 * JavaScript heap (a chunk is written while the next is read: strings kept that long would
 * be promoted to the old generation, which then grows with the chunk size).
 */
export class Chunk {
  private readonly slots = new Map<Part, Slot>();

  constructor(private readonly pool: BufferPool) {}

  add(entity: EntityLines): void {
    if (entity.kind === 'keys') {
      this.push('keys', entity.keys);
      if (entity.keptNamespace !== undefined) this.push('keptNamespaces', entity.keptNamespace);
      return;
    }
    this.push('registry', entity.lines.registry);
    this.push('sources', entity.lines.source);
    this.push('versions', entity.lines.versions);
    if (entity.kind === 'provider') this.push('platforms', entity.lines.platforms);
  }

  /** One table's lines (empty where there are none); valid until the chunk is released. */
  part(part: Part): Buffer {
    const slot = this.slots.get(part);
    return slot === undefined ? Buffer.alloc(0) : slot.buffer.subarray(0, slot.length);
  }

  /** Bytes held for one table, or for all. */
  bytes(part?: Part): number {
    if (part !== undefined) return this.slots.get(part)?.length ?? 0;
    let total = 0;
    for (const slot of this.slots.values()) total += slot.length;
    return total;
  }

  /** Moves some tables' lines into a chunk of their own. */
  take(parts: readonly Part[]): Chunk {
    const taken = new Chunk(this.pool);
    for (const part of parts) {
      const slot = this.slots.get(part);
      if (slot === undefined) continue;
      taken.slots.set(part, slot);
      this.slots.delete(part);
    }
    return taken;
  }

  /** Gives the buffers back for reuse, once their lines are sent. */
  release(): void {
    for (const slot of this.slots.values()) this.pool.put(slot.buffer);
    this.slots.clear();
  }

  private push(part: Part, lines: string): void {
    if (lines === '') return;
    const size = Buffer.byteLength(lines);
    let slot = this.slots.get(part);
    if (slot === undefined) {
      slot = { buffer: this.pool.get(size), length: 0 };
      this.slots.set(part, slot);
    } else if (slot.length + size > slot.buffer.length) {
      const bigger = this.pool.get(slot.length + size);
      slot.buffer.copy(bigger, 0, 0, slot.length);
      this.pool.put(slot.buffer);
      slot.buffer = bigger;
    }
    slot.length += slot.buffer.write(lines, slot.length);
  }
}
