/**
 * The secret vault's storage: ciphertext only (base64), one per (request, name), taken once. Encryption
 * and keys live with the caller (`EncryptedSecretVault` in src/workflow/secret-vault.ts, whose
 * `SecretStore` port this repository implements); nothing here ever sees a plaintext secret.
 *
 * `take` is one statement on both engines (`DELETE … RETURNING`): of several concurrent takes of the same
 * secret, from any number of instances, exactly one gets it.
 */
import type { Kysely } from 'kysely';
import { encodeTimeInput, encodeTimestamp } from './dialect';
import { writeForRequest } from './errors';
import type { Database } from './schema';
import { isId, refuseIfAny } from './validation';

export interface SecretRepository {
  /**
   * Store the ciphertext of the request's secret `name`, replacing one stored before under that name
   * (a step that generated a new password). Throws `not-found` for an unknown request.
   */
  put(requestId: number, name: string, ciphertext: string): Promise<void>;
  /**
   * Delete the secret and return its ciphertext, in one statement (`DELETE … RETURNING`); undefined when
   * it was taken already or never stored.
   */
  take(requestId: number, name: string): Promise<string | undefined>;
  /** Delete every secret put before `cutoff` (never revealed in time); returns how many. */
  purgeOlderThan(cutoff: Date | string): Promise<number>;
}

const MAX_NAME = 100;
const MAX_CIPHERTEXT = 64 * 1024;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function keyProblems(requestId: unknown, name: unknown): string[] {
  const problems: string[] = [];
  if (!isId(requestId)) problems.push(`requestId must be a positive integer (got ${JSON.stringify(requestId)})`);
  if (typeof name !== 'string' || name === '' || name.length > MAX_NAME) problems.push(`name must be a non-empty string of at most ${MAX_NAME} characters`);
  return problems;
}

export function createSecretRepository(db: Kysely<Database>, clock: () => Date): SecretRepository {
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
      const row = await db.deleteFrom('secrets').where('request_id', '=', requestId).where('name', '=', name).returning('ciphertext').executeTakeFirst();
      return row?.ciphertext;
    },

    async purgeOlderThan(cutoff) {
      const at = encodeTimeInput(cutoff, 'cutoff');
      const res = await db.deleteFrom('secrets').where('created_at', '<', at).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
  };
}
