import { criticalSectionsDone, runCritical } from '../../src/core/critical-section.js';

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
