import { settingsForRole, type Settings } from './settings.js';

/**
 * The settings a connection uses, each with its value and where it came from, as
 * test-connection and status show them: "port 5432 (default)",
 * "user postgres (TOFU_REGISTRY_DB_ADMIN_USER (.env, line 7))".
 */
export function describeSettingSources(given: Settings, role: 'app' | 'admin'): Record<string, string> {
  const admin = role === 'admin';
  const settings = settingsForRole(given, role);
  const shown: Array<[string, string, string | undefined]> = [
    ['host', settings.hosts.map((e) => e.host).join(','), settings.origins.host],
    ['port', [...new Set(settings.hosts.map((e) => e.port))].join(','), settings.origins.port],
    ['database', admin ? settings.admin.database : settings.database, settings.origins[admin ? 'adminDatabase' : 'database']],
    ['user', admin ? settings.admin.user : settings.user, settings.origins[admin ? 'adminUser' : 'user']],
    ['sslmode', settings.sslMode, settings.origins.sslMode],
    ['target_session_attrs', settings.targetSessionAttrs, settings.origins.targetSessionAttrs],
  ];
  return Object.fromEntries(shown.map(([key, value, origin]) => [key, `${value} (${origin ?? 'default'})`]));
}
