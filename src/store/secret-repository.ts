/**
 * The secret vault's storage: ciphertext only (base64), one per (request, name), taken once. Encryption
 * and keys live with the caller (`EncryptedSecretVault` in src/workflow/secret-vault.ts, whose
 * `SecretStore` port this repository implements); nothing here ever sees a plaintext secret.
 *
 * `takeWith` reads the ciphertext, hands it to the caller's (synchronous) `open`, and deletes the row only when
 * `open` returned, in one transaction: a ciphertext that does not decrypt (a wrong key) is never lost. The read
 * locks the row (PostgreSQL `SELECT … FOR UPDATE`; SQLite BEGIN IMMEDIATE), so of several concurrent takes of the
 * same secret, from any number of instances, exactly one gets it.
 *
 * It also keeps the reveals: which card shows a revealed password, and when that card must be updated to hide it
 * (a durable timer, claimed under a lease like the outbox).
 */
import type { Kysely } from 'kysely';
import { dbNow, dbNowPlus, encodeTimeInput, encodeTimestamp, sqliteImmediateOf, type EngineConnection } from './dialect';
import { writeForRequest } from './errors';
import type { Database } from './schema';
import { checkCount, checkTime, invalid, isId, refuseIfAny } from './validation';

/** A secret deleted unrevealed by a purge: which, and when it was stored (never its ciphertext). */
export interface PurgedSecretRecord {
  readonly requestId: number;
  readonly name: string;
  readonly storedAt: string;
}

/** A revealed password's card, to be hidden at `hideAt`. */
export interface SecretRevealInput {
  readonly requestId: number;
  readonly conversationId: string;
  readonly activityId: string;
  readonly revealedAt: Date;
  /** Display name of who revealed it. */
  readonly revealedBy: string;
  readonly hideAt: Date;
}

export interface SecretRevealRecord {
  readonly id: number;
  readonly requestId: number;
  readonly conversationId: string;
  readonly activityId: string;
  readonly revealedAt: string;
  readonly revealedBy: string;
  readonly hideAt: string;
  /** Claims so far, this one included. */
  readonly attempts: number;
}

export interface SecretRepository {
  /**
   * Store the ciphertext of the request's secret `name`, replacing one stored before under that name
   * (a step that generated a new password). Throws `not-found` for an unknown request.
   */
  put(requestId: number, name: string, ciphertext: string): Promise<void>;
  /**
   * Delete the secret and return its ciphertext, in one statement (`DELETE … RETURNING`); undefined when
   * it was taken already or never stored. The vault uses `takeWith`, which deletes only what it could decrypt.
   */
  take(requestId: number, name: string): Promise<string | undefined>;
  /**
   * Read the ciphertext, call `open` with it, and delete the row only when `open` returns, in one transaction
   * holding the row; when `open` throws, nothing is deleted and the error is passed on. Undefined when there is
   * no such secret.
   */
  takeWith<T>(requestId: number, name: string, open: (ciphertext: string) => T): Promise<T | undefined>;
  /** Delete every secret put before `cutoff` (never revealed in time); returns how many. */
  purgeOlderThan(cutoff: Date | string): Promise<number>;
  /** Delete every secret put before `cutoff` and say which they were (for the audit log). */
  purge(cutoff: Date | string): Promise<PurgedSecretRecord[]>;
  /** Remember that a password is shown on a card, to hide it at `hideAt`. */
  addReveal(input: SecretRevealInput): Promise<void>;
  /** Claims up to `limit` reveals whose `hideAt` has come and that nobody holds (or whose claim ran out), for `leaseMs`. */
  claimDueReveals(owner: string, now: Date, leaseMs: number, limit: number): Promise<SecretRevealRecord[]>;
  /** Forget a reveal whose card was hidden (or given up); only its claimer may. */
  removeReveal(id: number, owner: string): Promise<void>;
}

const MAX_NAME = 100;
const MAX_CIPHERTEXT = 64 * 1024;
const MAX_REF = 1_000;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function keyProblems(requestId: unknown, name: unknown): string[] {
  const problems: string[] = [];
  if (!isId(requestId)) problems.push(`requestId must be a positive integer (got ${JSON.stringify(requestId)})`);
  if (typeof name !== 'string' || name === '' || name.length > MAX_NAME) problems.push(`name must be a non-empty string of at most ${MAX_NAME} characters`);
  return problems;
}

const text = (v: unknown, max: number): boolean => typeof v === 'string' && v !== '' && v.length <= max;

export function createSecretRepository(conn: Pick<EngineConnection, 'engine' | 'db' | 'sqliteImmediate'>, clock: () => Date): SecretRepository {
  const db: Kysely<Database> = conn.db;
  const immediate = sqliteImmediateOf(conn, 'a secret cannot be decrypted and deleted in one transaction');

  const selectCiphertext = (requestId: number, name: string) =>
    db.selectFrom('secrets').select('ciphertext').where('request_id', '=', requestId).where('name', '=', name);
  const deleteSecret = (requestId: number, name: string) => db.deleteFrom('secrets').where('request_id', '=', requestId).where('name', '=', name);

  const purge = async (cutoff: Date | string): Promise<PurgedSecretRecord[]> => {
    const at = encodeTimeInput(cutoff, 'cutoff');
    const rows = await db.deleteFrom('secrets').where('created_at', '<', at).returning(['request_id', 'name', 'created_at']).execute();
    return rows.map((r) => ({ requestId: Number(r.request_id), name: r.name, storedAt: r.created_at }));
  };

  return {
    async put(requestId, name, ciphertext) {
      const problems = keyProblems(requestId, name);
      // The ciphertext itself is never quoted in a message.
      if (typeof ciphertext !== 'string' || ciphertext === '' || ciphertext.length > MAX_CIPHERTEXT || !BASE64.test(ciphertext)) {
        problems.push(`ciphertext must be non-empty base64 of at most ${MAX_CIPHERTEXT} characters`);
      }
      refuseIfAny('The secret was not stored', problems);
      const at = encodeTimestamp(clock());
      await writeForRequest(requestId, 'the secret', () =>
        db
          .insertInto('secrets')
          .values({ request_id: requestId, name, ciphertext, created_at: at })
          .onConflict((oc) => oc.columns(['request_id', 'name']).doUpdateSet({ ciphertext, created_at: at }))
          .execute(),
      );
    },

    async take(requestId, name) {
      const problems = keyProblems(requestId, name);
      refuseIfAny('take', problems);
      const row = await deleteSecret(requestId, name).returning('ciphertext').executeTakeFirst();
      return row?.ciphertext;
    },

    async takeWith(requestId, name, open) {
      refuseIfAny('Nothing was taken from the vault', keyProblems(requestId, name));
      if (immediate !== undefined) {
        const select = selectCiphertext(requestId, name).compile();
        const remove = deleteSecret(requestId, name).compile();
        return immediate((statement) => {
          const row = statement(select.sql).get(...select.parameters) as { ciphertext: string } | undefined;
          if (row === undefined) return undefined;
          // A throw here rolls the transaction back: the row stays.
          const opened = open(row.ciphertext);
          statement(remove.sql).run(...remove.parameters);
          return opened;
        });
      }
      return db.transaction().execute(async (tx) => {
        const row = await tx.selectFrom('secrets').select('ciphertext').where('request_id', '=', requestId).where('name', '=', name).forUpdate().executeTakeFirst();
        if (row === undefined) return undefined;
        const opened = open(row.ciphertext);
        await tx.deleteFrom('secrets').where('request_id', '=', requestId).where('name', '=', name).execute();
        return opened;
      });
    },

    async purgeOlderThan(cutoff) {
      return (await purge(cutoff)).length;
    },

    purge,

    async addReveal(input) {
      const what = 'The reveal was not recorded (nothing was stored)';
      const problems: string[] = [];
      if (!isId(input?.requestId)) problems.push('requestId must be a positive integer');
      if (!text(input?.conversationId, MAX_REF)) problems.push(`conversationId must be a non-empty string of at most ${MAX_REF} characters`);
      if (!text(input?.activityId, MAX_REF)) problems.push(`activityId must be a non-empty string of at most ${MAX_REF} characters`);
      if (!text(input?.revealedBy, 200)) problems.push('revealedBy must be a non-empty string of at most 200 characters');
      refuseIfAny(what, problems);
      const revealedAt = checkTime(input.revealedAt, 'revealedAt', what);
      const hideAt = checkTime(input.hideAt, 'hideAt', what);
      await writeForRequest(input.requestId, 'the reveal', () =>
        db
          .insertInto('secret_reveals')
          .values({
            request_id: input.requestId,
            conversation_id: input.conversationId,
            activity_id: input.activityId,
            revealed_at: revealedAt,
            revealed_by: input.revealedBy,
            hide_at: hideAt,
            attempts: 0,
            claimed_by: null,
            claimed_until: null,
          })
          .execute(),
      );
    },

    async claimDueReveals(owner, now, leaseMs, limit) {
      const what = 'No reveal was claimed';
      if (typeof owner !== 'string' || owner === '') invalid(what, ['owner must be a non-empty string']);
      // Due times are the application's (hide_at was written from its clock); the claim is a lease on the
      // database's clock, as the run steps' and the outbox's are, so instances whose clocks disagree never share one.
      const at = checkTime(now, 'now', what);
      const until = dbNowPlus(conn.engine, checkCount(leaseMs, 'leaseMs', 3_600_000, what));
      const dbTime = dbNow(conn.engine);
      const n = checkCount(limit, 'limit', 1_000, what);
      // One UPDATE whose WHERE repeats the claimable test, as the outbox claims: a concurrent claimer skips the row.
      const rows = await db
        .updateTable('secret_reveals')
        .set((eb) => ({ claimed_by: owner, claimed_until: until, attempts: eb(eb.ref('attempts'), '+', 1) }))
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('secret_reveals')
            .select('id')
            .where('hide_at', '<=', at)
            .where((w) => w.or([w('claimed_until', 'is', null), w('claimed_until', '<=', dbTime)]))
            .orderBy('hide_at')
            .orderBy('id')
            .limit(n),
        )
        .where((w) => w.or([w('claimed_until', 'is', null), w('claimed_until', '<=', dbTime)]))
        .returningAll()
        .execute();
      return rows
        .map((r) => ({
          id: Number(r.id),
          requestId: Number(r.request_id),
          conversationId: r.conversation_id,
          activityId: r.activity_id,
          revealedAt: r.revealed_at,
          revealedBy: r.revealed_by,
          hideAt: r.hide_at,
          attempts: Number(r.attempts),
        }))
        .sort((a, b) => a.hideAt.localeCompare(b.hideAt) || a.id - b.id);
    },

    async removeReveal(id, owner) {
      await db.deleteFrom('secret_reveals').where('id', '=', id).where('claimed_by', '=', owner).execute();
    },
  };
}
