import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { columnTypes, type EngineConnection, type Engine } from '../dialect';
import { StoreError } from '../errors';
import { initial } from './0001_initial';
import { requestsAndAudit } from './0002_requests_audit';
import { runsAndSecrets } from './0003_runs_secrets';
import { rateLimits } from './0004_rate_limits';
import { outbox } from './0005_outbox';
import { runStepCrashes } from './0006_run_step_crashes';
import { keyedAuditAndReveals } from './0007_keyed_audit_reveals';
import { approvalsReach } from './0008_approvals_reach';
import { batches } from './0009_batches';
import { batchCards } from './0010_batch_cards';
import { batchFiling } from './0011_batch_filing';
import { requestNames } from './0012_request_names';
import { stepsDueInTurn } from './0013_steps_due_in_turn';
import { batchDecisions } from './0014_batch_decisions';
import { conversationPersonIndex } from './0015_conversation_person_index';

/**
 * Migrations in order. Names sort alphabetically into the order they run (Kysely's rule), so keep the
 * four-digit prefix. Never edit a migration that has shipped: add the next one.
 */
const MIGRATIONS: Readonly<Record<string, (engine: Engine) => Migration>> = {
  '0001_initial': (engine) => initial(columnTypes(engine)),
  '0002_requests_audit': (engine) => requestsAndAudit(columnTypes(engine)),
  '0003_runs_secrets': (engine) => runsAndSecrets(columnTypes(engine)),
  '0004_rate_limits': (engine) => rateLimits(columnTypes(engine)),
  '0005_outbox': (engine) => outbox(columnTypes(engine)),
  '0006_run_step_crashes': (engine) => runStepCrashes(columnTypes(engine)),
  '0007_keyed_audit_reveals': (engine) => keyedAuditAndReveals(columnTypes(engine)),
  '0008_approvals_reach': (engine) => approvalsReach(columnTypes(engine)),
  '0009_batches': (engine) => batches(columnTypes(engine)),
  '0010_batch_cards': (engine) => batchCards(columnTypes(engine)),
  '0011_batch_filing': (engine) => batchFiling(columnTypes(engine)),
  '0012_request_names': (engine) => requestNames(columnTypes(engine)),
  '0013_steps_due_in_turn': (engine) => stepsDueInTurn(columnTypes(engine)),
  '0014_batch_decisions': (engine) => batchDecisions(columnTypes(engine)),
  '0015_conversation_person_index': (engine) => conversationPersonIndex(columnTypes(engine)),
};

/** Every migration name, in the order they run. */
export const MIGRATION_NAMES: readonly string[] = Object.keys(MIGRATIONS).sort();
export const LATEST_MIGRATION = MIGRATION_NAMES.at(-1) ?? '';

export function migrationProvider(engine: Engine): MigrationProvider {
  return {
    getMigrations: () =>
      Promise.resolve(Object.fromEntries(Object.entries(MIGRATIONS).map(([name, make]) => [name, make(engine)]))),
  };
}

/**
 * Migrate the database to the latest version and return the names of the migrations applied now
 * (empty when it was already up to date). Concurrent callers wait for each other; a failed run changes
 * nothing.
 */
export async function migrateToLatest<DB>(conn: Pick<EngineConnection, 'engine' | 'describe' | 'serializeMigrations'> & { db: Kysely<DB> }): Promise<string[]> {
  const migrator = new Migrator({ db: conn.db, provider: migrationProvider(conn.engine) });
  const { error, results } = await conn.serializeMigrations(() => migrator.migrateToLatest());
  if (error === undefined) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);

  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  const missing = /previously executed migration (\S+) is missing/.exec(message);
  if (missing) {
    throw new StoreError(
      'migration-failed',
      `The database has migration ${missing[1]}, which this version of Mailroom does not know: a newer version has ` +
        `migrated it. Run that newer version (or restore a backup from before the upgrade). Nothing was changed.`,
      { cause: error },
    );
  }
  const failed = results?.find((r) => r.status === 'Error');
  if (failed === undefined) throw conn.describe(error, 'read the migration state');
  const cause = conn.describe(error, `apply migration ${failed.migrationName}`);
  throw new StoreError('migration-failed', `${cause.message.replace(/\.$/, '')}. Every migration of this run was rolled back; the schema is as it was.`, { cause: error });
}
