export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __TEST_PG__?: { stop(): Promise<void> } }).__TEST_PG__?.stop();
}
