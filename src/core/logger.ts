/**
 * The core reports progress only through a Logger it is given, so the CLI can render
 * it (spinners, --verbose SQL echo) and tests or embedding programs can swap it.
 */
export interface Logger {
  /** Detail shown with --verbose, such as the SQL being sent. */
  debug(message: string): void;
  /** A step starts: the CLI may show a spinner. */
  step(message: string): void;
  /** Something the operator should know that does not stop the command. */
  warn(message: string): void;
}

export const silentLogger: Logger = {
  debug: () => undefined,
  step: () => undefined,
  warn: () => undefined,
};
