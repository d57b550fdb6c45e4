/**
 * Secrets known to this process. Every line the CLI prints passes through redactSecrets(), so
 * a password that slips into an error message, a server notice or echoed SQL is masked
 * whatever path it took.
 *
 * Two kinds of masking:
 * - structural, for every secret however short or plain: wherever a secret's place is (a URI's
 *   user-info, `password=…` in a connection string, `PGPASSWORD=…` and the other password
 *   variables, `PASSWORD '…'` in SQL, SCRAM and MD5 verifiers);
 * - by occurrence, anywhere in the text, only for a registered secret that cannot be mistaken
 *   for ordinary text. Masking every "postgres" when the admin's password is "postgres" (the
 *   usual CI service container) would mangle the role's and the database's names in every
 *   line, and tell whoever reads the log that the password is the role's name; masking "wrong"
 *   would turn "the password is wrong" into nonsense. See maskedWherever().
 */
const secrets = new Set<string>();
/** Role, database and host names of the settings: text that is printed as itself, never masked. */
const names = new Set<string>();

export const REDACTED = '[redacted]';

/** Below this, a secret is masked only where a secret's place is (see maskedWherever). */
const SHORTEST_MASKED_ANYWHERE = 8;
/** From this length a secret is masked anywhere even if it is all letters: no word or name is that long and equal to it by chance. */
const LONG_ENOUGH_FOR_ANY_SHAPE = 16;

export function registerSecret(value: string | undefined): void {
  if (value) secrets.add(value);
}

/** A name the settings hold (a role, a database, a host): a secret equal to it, or part of it, is masked only structurally. */
export function registerName(value: string | undefined): void {
  if (value) names.add(value.toLowerCase());
}

/** Stops masking a secret that the operator asked to see (create-user --show-password). */
export function revealSecret(value: string): void {
  secrets.delete(value);
}

/**
 * Whether a secret is masked wherever it occurs, not only in a secret's place. Only when it
 * cannot be ordinary text: at least 8 characters, and not a plain word, identifier or number
 * (all letters, "_" and "-", or all digits) unless it is 16 or more (as every generated
 * password is: 40 characters); and never when it is, or is part of, a name in the settings.
 * A short or plain password is still masked wherever it is written as a password.
 */
function maskedWherever(secret: string): boolean {
  const lower = secret.toLowerCase();
  for (const name of names) if (name.includes(lower)) return false;
  if (secret.length >= LONG_ENOUGH_FOR_ANY_SHAPE) return true;
  return secret.length >= SHORTEST_MASKED_ANYWHERE && !/^[A-Za-z_-]+$/.test(secret) && !/^[0-9]+$/.test(secret);
}

/**
 * A quoted value ('…' with '' or \' inside, "…" with \" inside) or a bare one up to the next
 * space; not one already cut to "…" (a usage error's `--password=…`, cli/terminal.ts).
 */
const VALUE = String.raw`(?!…)(?:'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*"|[^\s'"]+)`;
/** In a URI's query string a bare value ends at the next parameter. */
const QUERY_VALUE = String.raw`[^\s&#'"]+`;

/** Masks registered secrets, and every secret in a secret's place (module comment). */
export function redactSecrets(text: string): string {
  let result = text;
  for (const secret of secrets) if (maskedWherever(secret)) result = result.split(secret).join(REDACTED);
  return result
    // Up to the last @ of the URI: a password may hold an unencoded @ (or / or ?).
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)\S*@/gi, `$1${REDACTED}@`)
    .replace(new RegExp(String.raw`([?&](?:ssl)?password=)${QUERY_VALUE}`, 'gi'), `$1${REDACTED}`)
    .replace(new RegExp(String.raw`(?<![\w?&])((?:ssl)?password\s*=\s*)${VALUE}`, 'gi'), `$1${REDACTED}`)
    .replace(new RegExp(String.raw`(\b[A-Z][A-Z0-9_]*PASSWORD\s*=\s*)${VALUE}`, 'g'), `$1${REDACTED}`)
    .replace(/SCRAM-SHA-256\$[^'\s]+/g, `SCRAM-SHA-256$${REDACTED}`)
    .replace(/\bmd5[0-9a-f]{32}\b/g, `md5${REDACTED}`)
    .replace(/(PASSWORD\s+)E?'(?:[^']|'')*'/gi, `$1'${REDACTED}'`);
}

/** For tests: forget every registered secret and name. */
export function clearSecrets(): void {
  secrets.clear();
  names.clear();
}
