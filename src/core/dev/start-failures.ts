import { RegistryDbError } from '../errors.js';

/** The ways a server of our own can fail to start, said as what they are (postgres-server.ts). */

export function portInUseError(port: number): RegistryDbError {
  return new RegistryDbError('unreachable', 'PORT_IN_USE', `Port ${port} on 127.0.0.1 is already in use: the embedded PostgreSQL cannot listen there.`, {
    hint: `Stop what listens on port ${port} (see \`ss -ltnp 'sport = :${port}'\`), or choose another --port (or none: dev then takes a free one).`,
  });
}

/** The server's own words for the failures we can name, from its log (LC_ALL=C, so English). */
const KNOWN_FAILURES: readonly { readonly pattern: RegExp; readonly error: (port: number, line: string) => RegistryDbError }[] = [
  {
    pattern: /could not bind|could not create any TCP\/IP sockets|Address already in use/i,
    error: (port) => portInUseError(port),
  },
  {
    pattern: /lock file "postmaster\.pid" already exists/i,
    error: (_port, line) =>
      new RegistryDbError('usage', 'DATA_DIR_IN_USE', `Another PostgreSQL server is running on this data folder (${line}).`, {
        hint: 'Stop that server first (or give another --data-dir).',
      }),
  },
  {
    pattern: /database files are incompatible with server/i,
    error: (_port, line) =>
      new RegistryDbError('usage', 'DATA_DIR_VERSION', `The data folder was made by another PostgreSQL version: ${line}.`, {
        hint: 'Give another --data-dir, or dump and restore the data with the version that made it.',
      }),
  },
  {
    pattern: /could not create shared memory segment|could not map anonymous shared memory|out of memory/i,
    error: (_port, line) =>
      new RegistryDbError('unreachable', 'SERVER_START_FAILED', `The embedded PostgreSQL could not get the memory it needs: ${line}.`, {
        hint: 'Free memory, or raise the container\'s shared memory (docker run --shm-size=256m).',
      }),
  },
];

/**
 * Why the server did not start, from what it logged: a port in use, a data folder in use or of
 * another version, no memory; otherwise its FATAL (or last) lines, verbatim.
 */
export function diagnoseStartFailure(log: string, port: number, what: string): RegistryDbError {
  const lines = log.split('\n').map((line) => line.trim()).filter(Boolean);
  const fatal = lines.filter((line) => /\b(FATAL|PANIC|ERROR):/.test(line));
  for (const known of KNOWN_FAILURES) {
    const line = lines.find((l) => known.pattern.test(l));
    if (line) return known.error(port, line.replace(/^.*?\b(FATAL|PANIC|ERROR|LOG):\s*/, ''));
  }
  const said = (fatal.length > 0 ? fatal : lines.slice(-3)).join(' ');
  return new RegistryDbError('unreachable', 'SERVER_START_FAILED', `The embedded PostgreSQL did not start: ${what}${said ? `; it said: ${said}` : ''}.`, {
    hint: 'Run with --verbose to see its whole log.',
  });
}
