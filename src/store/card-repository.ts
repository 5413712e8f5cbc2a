import type { Kysely, Selectable } from 'kysely';
import { compiledOnce, encodeTimestamp } from './dialect';
import { writeForRequest } from './errors';
import { CARD_AUDIENCES, type CardAudience, type Database, type RequestCardsTable } from './schema';
import { refuseIfAny } from './validation';

export type { CardAudience } from './schema';

/** One sent copy of a request's card: where it is, so it can be updated in place. */
export interface CardRecord {
  id: number;
  requestId: number;
  audience: CardAudience;
  /** Whose personal chat the copy is in; null for a channel or group chat. */
  aadObjectId: string | null;
  conversationId: string;
  activityId: string;
  /** ISO 8601 UTC. */
  createdAt: string;
}

export type CardInput = Omit<CardRecord, 'id' | 'createdAt'>;

export interface CardRepository {
  /**
   * Remember a sent card. Idempotent: the same (request, conversation, activity) again returns the
   * stored record unchanged. An unknown request throws `not-found`.
   */
  add(card: CardInput): Promise<CardRecord>;
  /** The request's cards, optionally for one audience, in the order they were added. */
  list(requestId: number, audience?: CardAudience): Promise<CardRecord[]>;
}

type Row = Selectable<RequestCardsTable>;

function toRecord(row: Row): CardRecord {
  return {
    id: Number(row.id),
    requestId: Number(row.request_id),
    audience: row.audience,
    aadObjectId: row.aad_object_id,
    conversationId: row.conversation_id,
    activityId: row.activity_id,
    createdAt: row.created_at,
  };
}

function validate(c: CardInput): void {
  const problems: string[] = [];
  if (typeof c.requestId !== 'number' || !Number.isSafeInteger(c.requestId) || c.requestId < 1) problems.push('requestId must be a positive integer');
  if (!(CARD_AUDIENCES as readonly unknown[]).includes(c.audience)) {
    problems.push(`audience must be one of ${CARD_AUDIENCES.join(', ')} (got ${JSON.stringify(c.audience)})`);
  }
  if (c.aadObjectId !== null && (typeof c.aadObjectId !== 'string' || c.aadObjectId === '')) problems.push('aadObjectId must be a non-empty string or null');
  for (const key of ['conversationId', 'activityId'] as const) {
    if (typeof c[key] !== 'string' || c[key] === '') problems.push(`${key} must be a non-empty string`);
  }
  refuseIfAny(`The card of request R-${String(c.requestId)} was not stored`, problems);
}

export function createCardRepository(db: Kysely<Database>, now: () => Date): CardRepository {
  // read for every change of a request: compiled once (see compiledOnce)
  const selectAll = compiledOnce(db, (arg) => db.selectFrom('request_cards').selectAll().where('request_id', '=', arg<number>(0)).orderBy('id'));
  const selectAudience = compiledOnce(db, (arg) => db.selectFrom('request_cards').selectAll().where('request_id', '=', arg<number>(0)).where('audience', '=', arg<CardAudience>(1)).orderBy('id'));
  // written for every card Mailroom posts about a request: compiled once
  const insert = compiledOnce(db, (arg) =>
    db
      .insertInto('request_cards')
      .values({
        request_id: arg<number>(0),
        audience: arg<CardAudience>(1),
        aad_object_id: arg<string>(2),
        conversation_id: arg<string>(3),
        activity_id: arg<string>(4),
        created_at: arg<string>(5),
      })
      .onConflict((oc) => oc.columns(['request_id', 'conversation_id', 'activity_id']).doNothing())
      .returningAll(),
  );
  return {
    async add(card) {
      validate(card);
      const at = encodeTimestamp(now());
      let [row]: (Row | undefined)[] = (await writeForRequest(card.requestId, 'the card', () => insert(card.requestId, card.audience, card.aadObjectId, card.conversationId, card.activityId, at))).rows;
      row ??= await db
        .selectFrom('request_cards')
        .selectAll()
        .where('request_id', '=', card.requestId)
        .where('conversation_id', '=', card.conversationId)
        .where('activity_id', '=', card.activityId)
        .executeTakeFirstOrThrow();
      return toRecord(row);
    },

    async list(requestId, audience) {
      const { rows } = audience === undefined ? await selectAll(requestId) : await selectAudience(requestId, audience);
      return rows.map(toRecord);
    },
  };
}
