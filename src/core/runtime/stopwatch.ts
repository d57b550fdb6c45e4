/**
 * Milliseconds since the call, from process.hrtime: `performance` is a lazy global on
 * Node 20 whose first use loads perf_hooks, a cost every run of test-connection paid (bench/README.md, History).
 */
export function stopwatch(): () => number {
  const started = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - started) / 1e6;
}
