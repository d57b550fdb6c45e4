import type { ModuleLines, ProviderLines } from './copy-lines.js';

/** What one provider, module or key namespace contributes to the tables, as COPY lines. */
export type EntityLines =
  | { readonly kind: 'provider'; readonly lines: ProviderLines }
  | { readonly kind: 'module'; readonly lines: ModuleLines }
  | { readonly kind: 'keys'; readonly keys: string; readonly keptNamespace?: string };

/** The tables a chunk has lines for: the kind's own table, its versions and platforms, import's bookkeeping, keys. */
export const PARTS = ['registry', 'versions', 'platforms', 'sources', 'keys', 'keptNamespaces'] as const;
export type Part = (typeof PARTS)[number];

/**
 * Lines are encoded into buffers of this one size, as many per table as its lines need: a
 * table's lines in one buffer, grown (doubled) for the entity that did not fit, made the
 * buffers, and the pool that keeps them, follow the largest provider.
 */
const SEGMENT_BYTES = 256 * 1024;
/** Buffers kept for reuse beyond this many (a chunk being filled and one in flight need fewer) are left to the garbage collector. */
const POOL_LIMIT = 48;

/**
 * The buffers chunks are encoded into, reused: a new buffer per entity or per chunk made
 * the process's memory creep up through the whole import (the allocator's fragments), while
 * the JavaScript heap stayed flat.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(readonly segmentBytes = SEGMENT_BYTES) {}

  get(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.segmentBytes);
  }

  put(buffer: Buffer): void {
    if (this.free.length < POOL_LIMIT) this.free.push(buffer);
  }
}

interface Slot {
  readonly segments: Buffer[];
  /** Bytes used of each segment (the end of one may be left unused), and of all. */
  readonly used: number[];
  bytes: number;
}

/** Room left in a segment below which a new one is begun: enough for any character, a surrogate pair included. */
const MIN_ROOM = 8;

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * Rows read and not yet sent, per table, encoded as UTF-8 into pooled buffers outside the
 * JavaScript heap (a chunk is written while the next is read: strings kept that long would
 * be promoted to the old generation, which then grows with the chunk size). A table's lines
 * may break anywhere between two segments: each is sent as a CopyData message of its own,
 * and COPY does not need messages to end at a row's end.
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

  /** One table's lines, in order (none where there are none); valid until the chunk is released. */
  part(part: Part): Buffer[] {
    const slot = this.slots.get(part);
    if (slot === undefined) return [];
    return slot.segments.map((segment, index) => segment.subarray(0, slot.used[index]));
  }

  /** Bytes held for one table, or for all. */
  bytes(part?: Part): number {
    if (part !== undefined) return this.slots.get(part)?.bytes ?? 0;
    let total = 0;
    for (const slot of this.slots.values()) total += slot.bytes;
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
    for (const slot of this.slots.values()) for (const segment of slot.segments) this.pool.put(segment);
    this.slots.clear();
  }

  /** Appends lines, across as many segments as they need; nearly always in one piece. */
  private push(part: Part, lines: string): void {
    if (lines === '') return;
    let slot = this.slots.get(part);
    if (slot === undefined) {
      slot = { segments: [this.pool.get()], used: [0], bytes: 0 };
      this.slots.set(part, slot);
    }
    for (let from = 0; from < lines.length; ) {
      let last = slot.segments.length - 1;
      if (slot.segments[last]!.length - slot.used[last]! < MIN_ROOM) {
        slot.segments.push(this.pool.get());
        slot.used.push(0);
        last++;
      }
      const segment = slot.segments[last]!;
      const room = segment.length - slot.used[last]!;
      let count = Math.min(lines.length - from, room);
      // UTF-8 takes up to three bytes per UTF-16 unit: where the piece does not fit, a third of the room surely does.
      if (Buffer.byteLength(from === 0 && count === lines.length ? lines : lines.slice(from, from + count)) > room) count = Math.floor(room / 3);
      // A surrogate pair is never split (each half alone would be encoded as U+FFFD).
      if (from + count < lines.length && isHighSurrogate(lines.charCodeAt(from + count - 1))) count--;
      const written = segment.write(from === 0 && count === lines.length ? lines : lines.slice(from, from + count), slot.used[last]);
      slot.used[last] += written;
      slot.bytes += written;
      from += count;
    }
  }
}
