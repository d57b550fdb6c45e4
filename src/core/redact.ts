/**
 * Secrets known to this process. Every line the CLI prints passes through
 * redactSecrets(), so a password that slips into an error message, a server notice
 * or echoed SQL is masked whatever path it took.
 */
const secrets = new Set<string>();

export const REDACTED = '[redacted]';

export function registerSecret(value: string | undefined): void {
  // Very short values would mask ordinary words; real secrets here are long.
  if (value && value.length >= 4) secrets.add(value);
}

/** Stops masking a secret that the operator asked to see (create-user --show-password). */
export function revealSecret(value: string): void {
  secrets.delete(value);
}

/** Masks registered secrets, passwords in connection URLs and SCRAM/MD5 verifiers. */
export function redactSecrets(text: string): string {
  let result = text;
  for (const secret of secrets) result = result.split(secret).join(REDACTED);
  return result
    .replace(/(postgres(?:ql)?:\/\/[^:/?#\s]*:)[^@\s]*@/gi, `$1${REDACTED}@`)
    .replace(/SCRAM-SHA-256\$[^'\s]+/g, `SCRAM-SHA-256$${REDACTED}`)
    .replace(/\bmd5[0-9a-f]{32}\b/g, `md5${REDACTED}`)
    .replace(/(PASSWORD\s+)'(?:[^']|'')*'/gi, `$1'${REDACTED}'`);
}

/** For tests: forget every registered secret. */
export function clearSecrets(): void {
  secrets.clear();
}
