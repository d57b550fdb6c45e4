import { criticalSectionsDone, InterruptPendingError, markInterrupted, runCritical } from '../../src/core/runtime/critical-section.js';

test('an interrupt waits for a critical section (env-file rename + COMMIT) to end, and not otherwise', async () => {
  const events: string[] = [];
  await criticalSectionsDone().then(() => events.push('free at once'));
  let finish!: () => void;
  const section = runCritical(() => new Promise<void>((resolve) => (finish = resolve)).then(() => void events.push('section done')));
  const waited = criticalSectionsDone().then(() => events.push('interrupt proceeds'));
  await new Promise((r) => setTimeout(r, 20));
  expect(events).toEqual(['free at once']);
  finish();
  await Promise.all([section, waited]);
  expect(events).toEqual(['free at once', 'section done', 'interrupt proceeds']);
});

// Last in this file: the mark stays for the rest of the process, as it does in a real run.
test('once the run is being interrupted, no critical section starts (the handler would cut it when it exits)', async () => {
  markInterrupted();
  let ran = false;
  await expect(runCritical(async () => void (ran = true))).rejects.toBeInstanceOf(InterruptPendingError);
  expect(ran).toBe(false);
  await expect(criticalSectionsDone()).resolves.toBeUndefined();
});
