/** What `status` reports (checks/status.ts): the same object feeds its screen and its --json document. */

/** Something that keeps the installation from working as it is. */
export interface StatusProblem {
  readonly code: string;
  readonly message: string;
  readonly hint: string;
  /** The exit code of its class: 3 unreachable, 4 auth, 5 schema. */
  readonly exitCode: number;
}

export interface StatusResult {
  /** No problem found (warnings may remain). */
  readonly ok: boolean;
  /** 0, or the exit code of the first problem's class (3 unreachable, 4 auth, 5 schema). */
  readonly exitCode: number;
  readonly server: { readonly host: string; readonly port: number; readonly version: string; readonly versionNum: number; readonly standby: boolean; readonly admin: string };
  /** The admin's settings with where each came from ("port 5432 (default)"). */
  readonly settings: Readonly<Record<string, string>>;
  /** With a host list: the hosts passed over before the one reached, and why. */
  readonly hostsPassedOver?: readonly { readonly host: string; readonly port: number; readonly outcome: string }[];
  readonly database: {
    readonly name: string;
    readonly exists: boolean;
    readonly owner?: string;
    readonly encoding?: string;
    /** -1: none. */
    readonly connectionLimit?: number;
    /** Other sessions connected to it now. */
    readonly sessions?: number;
    readonly sizeBytes?: number;
    /** Estimated rows of the registry tables, from the server's statistics (no table is scanned); absent for a missing table. */
    readonly rows?: Readonly<Record<string, number>>;
  };
  readonly migrations?: {
    readonly dir: string;
    readonly total: number;
    readonly applied: number;
    readonly pending: readonly string[];
    readonly changed: readonly string[];
    /** Applied, but not in the folder (a newer tool, or another --dir). */
    readonly unknown: readonly string[];
  };
  readonly role: {
    readonly name: string;
    readonly exists: boolean;
    readonly login?: boolean;
    readonly superuser?: boolean;
    readonly connectionLimit?: number;
    readonly sessions?: number;
    readonly validUntil?: string | null;
    readonly privileges?: {
      readonly connect: boolean;
      readonly schemaUsage: boolean;
      readonly schemaCreate: boolean;
      readonly tables: number;
      readonly sequences: number;
      readonly tablesMissing: readonly string[];
      readonly sequencesMissing: readonly string[];
    };
  };
  readonly envFile: {
    readonly path: string;
    readonly exists: boolean;
    /** The connection the file describes (what the API reads from it), values as written. */
    readonly points?: Readonly<Record<string, string>>;
    readonly passwordSet?: boolean;
    /** Variables whose value in the environment (or a flag) differs from the file's. */
    readonly overridden: readonly string[];
  };
  readonly problems: readonly StatusProblem[];
  readonly warnings: readonly string[];
}

