import { randomUUID } from 'node:crypto';
import { RegistryDbError } from '../errors.js';
import { runBatch, tagRowCount } from '../db/batch.js';
import { toRegistryDbError } from '../db/pg-errors.js';
import { failed, passed, type CheckOutcome, type CheckState } from './check.js';
import { quoteLiteral } from '../sql/quote.js';

/** A step of the round trip: what it does (for the report) and the statement, with its bound values. */
interface Step {
  readonly label: string;
  readonly sql: string;
  readonly values?: readonly unknown[];
  /** Rows the statement must affect or return; anything else means a trigger or policy interfered. */
  readonly expectRows: number;
  /** Works on the temporary table (needs the TEMPORARY privilege on the database). */
  readonly temporary?: boolean;
}

const TEMP_TABLE = 'pg_temp.tofu_registry_db_round_trip';

/**
 * The statements of the round trip. Every value carries a fresh UUID under a namespace
 * that no registry entry uses, so they cannot collide with real rows or with a
 * concurrent run, and everything happens in one transaction that is rolled back.
 * The SERIAL sequences still advance (sequences are not transactional): a few skipped
 * ids are harmless, and the price of proving that INSERT really works.
 */
export function roundTripSteps(marker: string): Step[] {
  const namespace = '__tofu-registry-db-test-connection';
  const version = '0.0.0-test-connection';
  return [
    { label: 'create a temporary table', temporary: true, sql: `CREATE TEMPORARY TABLE tofu_registry_db_round_trip (id integer NOT NULL, value text NOT NULL) ON COMMIT DROP`, expectRows: 0 },
    { label: 'insert into the temporary table', temporary: true, sql: `INSERT INTO ${TEMP_TABLE} (id, value) VALUES (1, $1)`, values: [marker], expectRows: 1 },
    { label: 'read back from the temporary table', temporary: true, sql: `SELECT value FROM ${TEMP_TABLE} WHERE id = 1 AND value = $1`, values: [marker], expectRows: 1 },
    { label: 'update the temporary table', temporary: true, sql: `UPDATE ${TEMP_TABLE} SET value = value || '-updated' WHERE id = 1`, expectRows: 1 },
    { label: 'delete from the temporary table', temporary: true, sql: `DELETE FROM ${TEMP_TABLE} WHERE id = 1`, expectRows: 1 },

    { label: 'insert into modules', sql: `INSERT INTO public.modules (namespace, name, provider, version, description) VALUES ($1, $2, 'test', $3, 'test-connection round trip; rolled back')`, values: [namespace, marker, version], expectRows: 1 },
    { label: 'read back from modules', sql: `SELECT id FROM public.modules WHERE namespace = $1 AND name = $2 AND provider = 'test' AND version = $3`, values: [namespace, marker, version], expectRows: 1 },
    { label: 'update modules', sql: `UPDATE public.modules SET downloads = downloads + 1 WHERE namespace = $1 AND name = $2`, values: [namespace, marker], expectRows: 1 },
    { label: 'delete from modules', sql: `DELETE FROM public.modules WHERE namespace = $1 AND name = $2`, values: [namespace, marker], expectRows: 1 },

    { label: 'insert into providers', sql: `INSERT INTO public.providers (namespace, name, version, description) VALUES ($1, $2, $3, 'test-connection round trip; rolled back')`, values: [namespace, marker, version], expectRows: 1 },
    { label: 'read back from providers', sql: `SELECT id FROM public.providers WHERE namespace = $1 AND name = $2 AND version = $3`, values: [namespace, marker, version], expectRows: 1 },
    { label: 'update providers', sql: `UPDATE public.providers SET downloads = downloads + 1 WHERE namespace = $1 AND name = $2`, values: [namespace, marker], expectRows: 1 },
    { label: 'delete from providers', sql: `DELETE FROM public.providers WHERE namespace = $1 AND name = $2`, values: [namespace, marker], expectRows: 1 },

    { label: 'insert into cache', sql: `INSERT INTO public.cache (cache_key, cache_value, expires_at) VALUES ($1, 'test-connection', now() + interval '1 minute')`, values: [`${namespace}:${marker}`], expectRows: 1 },
    { label: 'read back from cache', sql: `SELECT cache_value FROM public.cache WHERE cache_key = $1`, values: [`${namespace}:${marker}`], expectRows: 1 },
    { label: 'update cache', sql: `UPDATE public.cache SET cache_value = 'test-connection-updated' WHERE cache_key = $1`, values: [`${namespace}:${marker}`], expectRows: 1 },
    { label: 'delete from cache', sql: `DELETE FROM public.cache WHERE cache_key = $1`, values: [`${namespace}:${marker}`], expectRows: 1 },
  ];
}

/** The step's statement with its values written in as literals ($1 -> 'value'), for a batch. */
export function withLiterals(step: Step): string {
  return step.sql.replace(/\$(\d+)/g, (_match, n: string) => quoteLiteral(String(step.values![Number(n) - 1])));
}

export async function checkRoundTrip(state: CheckState): Promise<CheckOutcome> {
  const connection = state.connection!;
  const { logger, settings } = state;
  // Read by the privileges check, which always runs (and passes) before this one.
  const canUseTemporary = state.canUseTemporary === true;
  // The registry API itself never needs temporary tables, so their absence is only worth a warning.
  const warnings = canUseTemporary
    ? []
    : [`"${state.user}" may not create temporary tables in "${settings.database}" (no TEMPORARY privilege): that part of the round trip was left out`];
  const steps = roundTripSteps(randomUUID()).filter((step) => canUseTemporary || !step.temporary);
  // One message for the whole transaction (bounded, so a lock held by another session
  // cannot make the check hang), ROLLBACK included: one wait for the server instead of 20.
  const preamble = ['BEGIN', `SET LOCAL lock_timeout = ${settings.lockTimeoutMs}`, `SET LOCAL statement_timeout = ${settings.statementTimeoutMs}`];
  const outcome = await runBatch(connection, logger, [...preamble, ...steps.map(withLiterals), 'ROLLBACK']);
  const stepAt = (index: number): Step | undefined => steps[index - preamble.length];
  const doneBefore = (index: number): string[] => steps.slice(0, Math.max(0, index - preamble.length)).map((step) => step.label);
  // The row counts of the steps that ran: a step that changed the wrong number of rows is the
  // first finding, even when a later step then failed outright.
  const rowCounts = outcome.ok
    ? outcome.results.slice(preamble.length).map((result) => result.rowCount ?? 0)
    : outcome.completedTags.slice(preamble.length).map((tag) => tagRowCount(tag) ?? 0);
  const mismatch = steps.findIndex((step, i) => i < rowCounts.length && step.expectRows > 0 && rowCounts[i] !== step.expectRows);
  if (!outcome.ok) await connection.client.query('ROLLBACK').catch(() => undefined); // what followed the failure did not run, ROLLBACK included
  if (mismatch !== -1) {
    const step = steps[mismatch]!;
    const rowCount = rowCounts[mismatch]!;
    const failure = new RegistryDbError('schema', 'ROUND_TRIP_MISMATCH', `The round trip could not ${step.label}: ${rowCount} row(s) instead of ${step.expectRows}.`, {
      hint: 'A trigger, rule or row-level security policy on the table changes what the registry API writes: review them.',
    });
    return failed(failure, `${step.label} inside a transaction that is rolled back`, { answer: `${rowCount} row(s)`, done: doneBefore(preamble.length + mismatch) });
  }
  if (!outcome.ok) {
    const current = stepAt(outcome.failedAt)?.label ?? (outcome.failedAt < preamble.length ? 'BEGIN' : 'ROLLBACK');
    const failure = toRegistryDbError(outcome.error, { action: `The round trip could not ${current}`, user: state.user, database: settings.database });
    return failed(failure, `${current} inside a transaction that is rolled back`, { done: doneBefore(outcome.failedAt) });
  }
  const done = steps.map((step) => step.label);
  const tables = canUseTemporary ? 'a temporary table and modules, providers, cache' : 'modules, providers, cache';
  return passed(`inserted, read back, updated and deleted a row in ${tables}; rolled back, nothing left behind`, { steps: done, rolledBack: true }, warnings);
}
