import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Client } from 'pg';
import { importExternal } from '../runtime/import-external.js';
import type { CopyStreamQuery } from 'pg-copy-streams';

/** Lines are sent in chunks of about this many characters: fewer, larger CopyData messages. */
const CHUNK_CHARACTERS = 256 * 1024;

let copyStreams: typeof import('pg-copy-streams') | undefined;
/** pg-copy-streams is needed by `import` only, so it loads on first use. */
async function loadCopyStreams(): Promise<typeof import('pg-copy-streams')> {
  copyStreams ??= (await importExternal<{ default: typeof import('pg-copy-streams') }>('pg-copy-streams')).default;
  return copyStreams;
}

/**
 * A `COPY … FROM STDIN` in progress. Waits for the socket to drain when the server is
 * slower than the files are read, so the client never buffers more than about one chunk:
 * memory stays flat however many rows pass through.
 */
export class CopyWriter {
  private buffer = '';
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

  async write(line: string): Promise<void> {
    this.buffer += line;
    if (this.buffer.length >= CHUNK_CHARACTERS) await this.flush();
  }

  /** Sends encoded lines as they are (after any text written before them). */
  async writeBuffer(lines: Buffer): Promise<void> {
    await this.flush();
    if (this.failure) throw this.failure;
    if (!this.stream.write(lines)) await once(this.stream, 'drain');
  }

  /** Ends the COPY and waits for the server to confirm it; returns the rows it took. */
  async finish(): Promise<number> {
    await this.flush();
    this.stream.end();
    await finished(this.stream);
    if (this.failure) throw this.failure;
    return this.stream.rowCount;
  }

  /** Abandons the COPY (the server answers CopyFail with an error; the transaction is lost). */
  abort(reason: Error): void {
    if (!this.stream.destroyed) this.stream.destroy(reason);
  }

  private async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.buffer === '') return;
    const chunk = this.buffer;
    this.buffer = '';
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }
}
