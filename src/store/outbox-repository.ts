/**
 * The notification outbox: what people must hear of a request, recorded in the store by the runner and delivered
 * later by the sender (`src/workflow/notification-outbox.ts`), so that running a step never waits on Teams and a
 * crash between recording and sending loses nothing.
 *
 * Claims work like the run steps' leases: a claimed row is the claimer's until `claimed_until`; a sender that dies
 * leaves its rows to be claimed again once that has passed. `attempts` counts the claims. Claiming is one UPDATE
 * whose WHERE repeats the "unclaimed or lease over" test, so on PostgreSQL a concurrent claimer that waited for the
 * row re-checks it and skips it, and SQLite has a single writer.
 *
 * Like the run steps' leases, claims are the database's clock, never the caller's: `claimed_until` is set to the
 * database's time plus the lease, and "lease over" compares it with the database's time in the same statement. A
 * sender whose clock runs minutes ahead can therefore not take a row another sender holds, and a claim taken by a
 * sender whose clock runs behind still ends on time. `created_at` stays the caller's clock: it decides nothing (rows
 * are handed out by id).
 */
import type { Kysely } from 'kysely';
import { compiledOnce, dbNow, dbNowPlus, keptByShape, type Engine, type TimeInput } from './dialect';
import type { Database } from './schema';
import { checkCount, checkTime, invalid, MAX_ID } from './validation';

export interface OutboxEntry {
  readonly id: number;
  readonly requestId: number;
  /** The message to the requester; null when only the request's cards changed. */
  readonly message: string | null;
  readonly createdAt: string;
  /** Claims so far, this one included. */
  readonly attempts: number;
}

export interface OutboxRepository {
  /** Records that the request's cards changed, with a message to its requester or none. */
  add(requestId: number, message: string | null, now: Date): Promise<void>;
  /**
   * Claims up to `limit` entries, oldest first, that nobody holds (or whose claim ran out), for `leaseMs` on the
   * database's clock. With `settledBefore`, a request's entries are claimed only once it has a message to send or one
   * of its entries was recorded at or before that time: card changes of a request that is still moving wait, so that
   * they coalesce into one update (or into the update that goes with its next message).
   */
  claim(owner: string, leaseMs: number, limit: number, options?: { settledBefore?: TimeInput }): Promise<OutboxEntry[]>;
  /** Deletes delivered (or given-up) entries this owner holds; returns how many. */
  remove(ids: readonly number[], owner: string): Promise<number>;
  /** Entries not yet delivered (for readiness and tests). */
  count(): Promise<number>;
}

const MAX_LIMIT = 1_000;
const MAX_LEASE_MS = 60 * 60 * 1000;
/** How many lease lengths' claims are kept compiled. */
const MAX_CLAIM_SHAPES = 8;
/** Longest message a notice may carry. */
export const MAX_NOTICE_MESSAGE = 8_000;

export function createOutboxRepository(conn: { readonly db: Kysely<Database>; readonly engine: Engine }): OutboxRepository {
  const { db, engine } = conn;
  /**
   * The claim, compiled once for each lease length (a literal in its SQL) and with or without `settledBefore`: the
   * sender claims every few hundred milliseconds with the same lease.
   */
  const claimQuery = (leaseMs: number, withSettled: boolean) =>
    compiledOnce(db, (arg) => {
      const dbTime = dbNow(engine);
      return db
        .updateTable('outbox')
        .set((eb) => ({ claimed_by: arg<string>(0), claimed_until: dbNowPlus(engine, leaseMs), attempts: eb(eb.ref('attempts'), '+', 1) }))
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('outbox')
            .select('id')
            .where((w) => w.or([w('claimed_until', 'is', null), w('claimed_until', '<=', dbTime)]))
            .$if(withSettled, (q) =>
              q.where('request_id', 'in', (eb) =>
                eb
                  .selectFrom('outbox')
                  .select('request_id')
                  .where((w) => w.or([w('message', 'is not', null), w('created_at', '<=', arg<string>(2))])),
              ),
            )
            .orderBy('id')
            .limit(arg<number>(1)),
        )
        .where((w) => w.or([w('claimed_until', 'is', null), w('claimed_until', '<=', dbTime)]))
        .returningAll();
    });
  const claims = keptByShape<ReturnType<typeof claimQuery>>(MAX_CLAIM_SHAPES);
  return {
    async add(requestId, message, now) {
      const what = 'The notification was not recorded (nothing was stored)';
      checkCount(requestId, 'requestId', MAX_ID, what);
      if (message !== null && (typeof message !== 'string' || message.length > MAX_NOTICE_MESSAGE)) invalid(what, [`message must be null or text of at most ${MAX_NOTICE_MESSAGE} characters`]);
      const createdAt = checkTime(now, 'now', what);
      await db
        .insertInto('outbox')
        .values({ request_id: requestId, message, created_at: createdAt, attempts: 0, claimed_by: null, claimed_until: null })
        .execute();
    },

    async claim(owner, leaseMs, limit, options = {}) {
      const what = 'Nothing was claimed from the outbox';
      if (typeof owner !== 'string' || owner === '') invalid(what, ['owner must be a non-empty string']);
      const ms = checkCount(leaseMs, 'leaseMs', MAX_LEASE_MS, what);
      const n = checkCount(limit, 'limit', MAX_LIMIT, what);
      const settled = options.settledBefore === undefined ? undefined : checkTime(options.settledBefore, 'settledBefore', what);
      const query = claims(`${ms}${settled === undefined ? '' : ',settled'}`, () => claimQuery(ms, settled !== undefined));
      const { rows } = await (settled === undefined ? query(owner, n) : query(owner, n, settled));
      return rows
        .map((r) => ({ id: Number(r.id), requestId: Number(r.request_id), message: r.message, createdAt: r.created_at, attempts: Number(r.attempts) }))
        .sort((a, b) => a.id - b.id);
    },

    async remove(ids, owner) {
      if (ids.length === 0) return 0;
      const res = await db.deleteFrom('outbox').where('id', 'in', [...ids]).where('claimed_by', '=', owner).executeTakeFirst();
      return Number(res.numDeletedRows);
    },

    async count() {
      const row = await db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
