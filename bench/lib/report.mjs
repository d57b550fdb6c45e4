/**
 * Turning samples into the figures the issue asks for: medians, ratios against each
 * target, peak memory, and the same as Markdown (printed, and saved for the README).
 */
import { summarize } from './measure.mjs';

export const MEMORY_LIMIT_MIB = 100;

/**
 * @typedef {object} VariantOutcome
 * @property {string} label
 * @property {boolean} ours
 * @property {number[]} times          measured rounds only, ms
 * @property {number | undefined} peakRssKiB
 * @property {number | undefined} cpuMs       user + system, warm-up round
 * @typedef {object} ScenarioOutcome
 * @property {string} id
 * @property {string} title
 * @property {'ok' | 'n/a' | 'failed'} status
 * @property {string} [message]
 * @property {Record<string, VariantOutcome>} variants
 * @property {readonly import('./scenarios.mjs').Row[]} rows
 */

/** @param {ScenarioOutcome[]} outcomes */
export function computeRows(outcomes) {
  const rows = [];
  for (const outcome of outcomes) {
    for (const row of outcome.rows) {
      const base = { scenario: outcome.id, label: row.label, target: row.target, status: outcome.status, message: outcome.message };
      if (outcome.status !== 'ok') {
        rows.push(base);
        continue;
      }
      const a = summarize(outcome.variants[row.a].times);
      const b = summarize(outcome.variants[row.b].times);
      const ratio = a.median / b.median;
      rows.push({
        ...base,
        a: { variant: row.a, ...a },
        b: { variant: row.b, ...b },
        ratio,
        meets: row.target === undefined ? undefined : ratio <= row.target,
      });
    }
  }
  return rows;
}

/** @param {ScenarioOutcome[]} outcomes @param {boolean} measured whether GNU time was there */
export function computeMemory(outcomes, measured) {
  const processes = [];
  for (const outcome of outcomes) {
    for (const [key, variant] of Object.entries(outcome.variants)) {
      if (variant.peakRssKiB === undefined) continue;
      processes.push({ scenario: outcome.id, variant: key, label: variant.label, ours: variant.ours, peakRssMiB: variant.peakRssKiB / 1024 });
    }
  }
  const ours = processes.filter((p) => p.ours);
  const worst = ours.reduce((max, p) => (max && max.peakRssMiB >= p.peakRssMiB ? max : p), undefined);
  return { limitMiB: MEMORY_LIMIT_MIB, measured, processes, worst, meets: worst ? worst.peakRssMiB <= MEMORY_LIMIT_MIB : undefined };
}

const ms = (value) => `${value.toFixed(value < 100 ? 1 : 0)} ms`;
const pct = (value) => `±${(value * 100).toFixed(0)}%`;
const verdict = (meets) => (meets === undefined ? 'info' : meets ? 'yes' : '**no**');

/** @param {ReturnType<typeof computeRows>} rows @param {ReturnType<typeof computeMemory>} memory */
export function markdownSummary(rows, memory) {
  const lines = [
    '| scenario | median A | median B | A/B | target | meets | spread A / B |',
    '| --- | ---: | ---: | ---: | ---: | :---: | ---: |',
  ];
  for (const row of rows) {
    const target = row.target === undefined ? '—' : `≤ ${row.target.toFixed(1)}×`;
    if (row.status !== 'ok') {
      const why = row.status === 'n/a' ? 'n/a (command not implemented yet)' : `failed: ${row.message}`;
      lines.push(`| ${row.label} | ${why} | | | ${target} | n/a | |`);
      continue;
    }
    lines.push(
      `| ${row.label} | ${ms(row.a.median)} | ${ms(row.b.median)} | ${row.ratio.toFixed(2)}× | ${target} | ${verdict(row.meets)} | ${pct(row.a.relativeMad)} / ${pct(row.b.relativeMad)} |`,
    );
  }
  if (memory.worst) {
    const worst = memory.worst;
    lines.push(
      `| peak RSS, any tofu-registry-db command (${worst.scenario}) | ${worst.peakRssMiB.toFixed(1)} MiB | | | ≤ ${memory.limitMiB} MiB | ${verdict(memory.meets)} | |`,
    );
  } else {
    const why = memory.measured ? 'n/a (none of our commands ran)' : 'n/a (install GNU time: apt-get install -y time)';
    lines.push(`| peak RSS, any tofu-registry-db command | ${why} | | | ≤ ${memory.limitMiB} MiB | n/a | |`);
  }
  return lines.join('\n');
}

/** Every process measured: where the time and the memory go. @param {ScenarioOutcome[]} outcomes */
export function markdownProcesses(outcomes) {
  const lines = ['| scenario | process | median | min – max | spread | CPU | peak RSS |', '| --- | --- | ---: | ---: | ---: | ---: | ---: |'];
  for (const outcome of outcomes) {
    for (const variant of Object.values(outcome.variants)) {
      if (variant.times.length === 0) continue;
      const s = summarize(variant.times);
      const rss = variant.peakRssKiB === undefined ? 'n/a' : `${(variant.peakRssKiB / 1024).toFixed(1)} MiB`;
      const cpu = variant.cpuMs === undefined ? 'n/a' : ms(variant.cpuMs);
      lines.push(`| ${outcome.id} | ${variant.label} | ${ms(s.median)} | ${ms(s.min)} – ${ms(s.max)} | ${pct(s.relativeMad)} | ${cpu} | ${rss} |`);
    }
  }
  return lines.join('\n');
}
