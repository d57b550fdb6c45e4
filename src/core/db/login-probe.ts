import type { Settings } from '../config/settings.js';
import { RegistryDbError } from '../errors.js';
import { connect, disconnect } from './connection.js';

/**
 * Whether `password` logs in as `role`, found by logging in (what anyone but a superuser, who
 * may read pg_authid, has to do). True also when the server refused only the database (it does
 * not exist yet, or CONNECT is not granted) or a connection limit (the role's or the database's):
 * PostgreSQL checks the password before those. False when it
 * refused the password; undefined when it cannot tell (unreachable, no pg_hba.conf entry …).
 */
export async function passwordLogsIn(settings: Settings, role: string, password: string): Promise<boolean | undefined> {
  try {
    await disconnect(await connect({ ...settings, user: role, password }, { role: 'app' }));
    return true;
  } catch (error) {
    const state = error instanceof RegistryDbError ? error.sqlState : (error as { code?: string }).code;
    if (state === '28P01') return false;
    if (state === '3D000' || state === '42501') return true;
    if (error instanceof RegistryDbError && (error.code === 'ROLE_CONNECTION_LIMIT' || error.code === 'DATABASE_CONNECTION_LIMIT')) return true;
    return undefined;
  }
}
