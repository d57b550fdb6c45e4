export declare const EMBEDDED_BIN: string;
export declare const SYSTEM_PG15_BIN = "/usr/lib/postgresql/15/bin";
export interface ServerOptions {
    readonly binDir?: string;
    /** Lines put at the top of pg_hba.conf (the first match wins). */
    readonly hbaLines?: readonly string[];
    /** Extra postgresql.conf settings. */
    readonly conf?: Readonly<Record<string, string>>;
    /** TLS: a certificate and key file (PEM) to enable ssl with. */
    readonly tls?: {
        readonly certFile: string;
        readonly keyFile: string;
    };
    readonly port?: number;
    /** Existing data folder (e.g. made by pg_basebackup) to start instead of running initdb. */
    readonly existingDataDir?: string;
}
export interface TestServer {
    readonly host: string;
    readonly port: number;
    readonly superuser: string;
    readonly password: string;
    readonly dataDir: string;
    readonly socketDir: string;
    readonly binDir: string;
    readonly majorVersion: number;
    readonly logFile: string;
    stop(): Promise<void>;
}
export declare const SUPERUSER_PASSWORD = "test-superuser-password-9f3b";
export declare function freePort(): Promise<number>;
export declare function runAsPostgres(binary: string, args: readonly string[], ids?: {
    uid: number;
    gid: number;
}): {
    status: number | null;
    output: string;
};
export declare function majorVersionOf(binDir: string): number;
/** A root-owned temporary folder that the postgres OS user may also use. */
export declare function sharedTempDir(prefix: string): string;
export declare function startServer(options?: ServerOptions): Promise<TestServer>;
