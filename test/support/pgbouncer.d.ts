export declare function pgbouncerBinary(): string;
export declare function startPgbouncer(
  server: { host: string; port: number; superuser: string; password: string },
  options?: { poolSize?: number; users?: Array<[string, string]> },
): Promise<{ host: string; port: number; stop(): Promise<void> }>;
