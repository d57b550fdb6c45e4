import type { Settings } from '../config/settings.js';

/** ~/.pgpass lookup (PGPASSFILE honoured), as libpq does for the admin role. */
export async function passwordFromPgpass(settings: Settings, database: string): Promise<string | undefined> {
  const { default: pgpass } = await import('pgpass');
  return new Promise((resolve) => {
    pgpass(
      { host: settings.host, port: settings.port, database, user: settings.admin.user },
      (password: string | undefined) => resolve(password),
    );
  });
}
