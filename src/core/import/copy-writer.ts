import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Client } from 'pg';
import { importExternal } from '../runtime/import-external.js';
import type { CopyStreamQuery } from 'pg-copy-streams';

let copyStreams: typeof import('pg-copy-streams') | undefined;
/** pg-copy-streams is needed by `import` only, so it loads on first use. */
async function loadCopyStreams(): Promise<typeof import('pg-copy-streams')> {
  copyStreams ??= (await importExternal<{ default: typeof import('pg-copy-streams') }>('pg-copy-streams')).default;
  return copyStreams;
}

/**
 * A `COPY … FROM STDIN` in progress. Waits for the socket to drain when the server is slower
 * than the lines come, so the client never buffers more than what it hands over: memory stays
 * flat however many rows pass through.
 */
export class CopyWriter {
  private failure: Error | undefined;

  private constructor(private readonly stream: CopyStreamQuery) {
    stream.on('error', (error: Error) => {
      this.failure ??= error;
    });
  }

  static async open(client: Client, sql: string): Promise<CopyWriter> {
    const { from } = await loadCopyStreams();
    return new CopyWriter(client.query(from(sql)));
  }

  /** Sends encoded COPY text lines, a CopyData message per buffer, waiting for the socket to drain between them. */
  async writeBuffers(lines: readonly Buffer[]): Promise<void> {
    for (const buffer of lines) {
      if (this.failure) throw this.failure;
      if (buffer.length > 0 && !this.stream.write(buffer)) await once(this.stream, 'drain');
    }
  }

  /** Ends the COPY and waits for the server to confirm it; returns the rows it took. */
  async finish(): Promise<number> {
    if (this.failure) throw this.failure;
    this.stream.end();
    await finished(this.stream);
    if (this.failure) throw this.failure;
    return this.stream.rowCount;
  }

  /** Abandons the COPY (the server answers CopyFail with an error; the transaction is lost). */
  abort(reason: Error): void {
    if (!this.stream.destroyed) this.stream.destroy(reason);
  }
}
