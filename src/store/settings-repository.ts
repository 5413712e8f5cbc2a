/**
 * Settings changed at run time (migration 0008): a JSON value per key, with who changed it last and when. `set` is
 * one INSERT … ON CONFLICT DO UPDATE on both engines, so instances writing the same key at once never fail: the
 * last write wins. Values are stored as JSON text and come back as they were given (objects, arrays, strings, …).
 */
import type { Kysely } from 'kysely';
import { compiledOnce, decodeJson } from './dialect';
import { StoreError } from './errors';
import type { Database } from './schema';
import { checkTime, invalid, jsonText } from './validation';

export interface SettingRecord<T> {
  readonly value: T;
  /** ISO 8601 UTC. */
  readonly updatedAt: string;
  readonly updatedBy: string | null;
}

export interface SettingsRepository {
  /** The setting stored under `key`, or undefined when there is none. */
  get<T = unknown>(key: string): Promise<SettingRecord<T> | undefined>;
  /**
   * Inserts or replaces (an upsert that works on both engines, also when two instances write at once). Bad input
   * (an empty key, a value that is not JSON) throws `invalid-record` and writes nothing.
   */
  set(key: string, value: unknown, updatedBy: string | null, now: Date): Promise<void>;
  /** Removes the setting; whether there was one. */
  delete(key: string): Promise<boolean>;
}

const MAX_KEY = 200;
const MAX_BY = 500;
/** A setting is configuration, not data: 1 MB of JSON text is plenty. */
const MAX_VALUE = 1_000_000;

function keyProblem(v: unknown): string | undefined {
  return typeof v !== 'string' || v.trim() === '' || v.length > MAX_KEY ? `key must be a non-empty string of at most ${MAX_KEY} characters (got ${JSON.stringify(v)})` : undefined;
}

function checkKey(v: unknown, what: string): string {
  const problem = keyProblem(v);
  if (problem !== undefined) invalid(what, [problem]);
  return v as string;
}

export function createSettingsRepository(db: Kysely<Database>): SettingsRepository {
  // read whenever approvers are told of a request (the approval channel): compiled once (see compiledOnce)
  const selectByKey = compiledOnce(db, (arg) => db.selectFrom('settings').select(['value_json', 'updated_at', 'updated_by']).where('key', '=', arg<string>(0)));
  return {
    async get<T = unknown>(key: string): Promise<SettingRecord<T> | undefined> {
      const k = checkKey(key, 'The setting was not read');
      const [row] = (await selectByKey(k)).rows;
      if (row === undefined) return undefined;
      let value: unknown;
      try {
        value = decodeJson(row.value_json);
      } catch (err) {
        throw new StoreError('query-failed', `The setting ${JSON.stringify(k)} holds text that is not JSON; set it again to repair it.`, { cause: err });
      }
      return { value: value as T, updatedAt: row.updated_at, updatedBy: row.updated_by };
    },

    async set(key, value, updatedBy, now) {
      const what = `The setting ${JSON.stringify(key)} was not stored, nothing was changed`;
      const problems: string[] = [];
      const kp = keyProblem(key);
      if (kp !== undefined) problems.push(kp);
      const json = jsonText(value, 'value');
      if (json.problem !== undefined) problems.push(json.problem);
      else if (json.text.length > MAX_VALUE) problems.push(`value must be at most ${MAX_VALUE} characters of JSON (got ${json.text.length})`);
      if (updatedBy !== null && (typeof updatedBy !== 'string' || updatedBy.trim() === '' || updatedBy.length > MAX_BY)) {
        problems.push(`updatedBy must be null or a non-empty string of at most ${MAX_BY} characters (got ${JSON.stringify(updatedBy)})`);
      }
      if (json.text === undefined || problems.length > 0) invalid(what, problems);
      const at = checkTime(now, 'now', what);
      const text = json.text;
      await db
        .insertInto('settings')
        .values({ key, value_json: text, updated_at: at, updated_by: updatedBy })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet((eb) => ({
            value_json: eb.ref('excluded.value_json'),
            updated_at: eb.ref('excluded.updated_at'),
            updated_by: eb.ref('excluded.updated_by'),
          })),
        )
        .execute();
    },

    async delete(key) {
      const k = checkKey(key, 'No setting was deleted');
      const res = await db.deleteFrom('settings').where('key', '=', k).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
  };
}
