/**
 * `entra.revokeSessions`: Graph POST /users/{id}/revokeSignInSessions. It "invalidates all the refresh tokens issued to
 * applications for a user (and session cookies in a user's browser), by resetting the signInSessionsValidFromDateTime
 * user property to the current date-time" (the API's page); access tokens already issued stay valid until they expire
 * (about an hour). It cannot be undone, and repeating it is harmless: a try after a crash simply revokes again.
 * Read back: signInSessionsValidFromDateTime is no earlier than the moment Mailroom asked.
 */
import type { StepInputs } from '../../plans';
import { graphFailure, permanent, type Doing } from './cloud-errors';
import type { ReadBack } from './read-back';
import type { StepExecutor } from './types';

export interface SessionsGraphPort {
  user<T = Record<string, unknown>>(idOrUpn: string, select: readonly string[]): Promise<T | null>;
  revokeSignInSessions(userId: string): Promise<void>;
}

interface SessionsRow {
  id: string;
  signInSessionsValidFromDateTime?: string | null;
}

/** Clock skew between Mailroom and Entra ID that the read-back allows (ms). */
const SKEW_MS = 5 * 60_000;

export function revokeSessions(graph: SessionsGraphPort, readBack: ReadBack): StepExecutor<'entra.revokeSessions'> {
  return {
    action: 'entra.revokeSessions',
    async run(input: StepInputs['entra.revokeSessions'], ctx) {
      const upn = input.userPrincipalName;
      const doing: Doing = { what: `sign ${upn} out everywhere (revoke sign-in sessions)`, unchanged: 'No session was revoked.', subject: `user ${upn}`, detail: { userPrincipalName: upn } };
      const read = async (): Promise<SessionsRow> => {
        let u: SessionsRow | null;
        try {
          u = await graph.user<SessionsRow>(upn, ['id', 'signInSessionsValidFromDateTime']);
        } catch (err) {
          throw graphFailure(err, doing);
        }
        if (!u) throw permanent(`Mailroom could not ${doing.what}: Entra ID has no user ${upn}. ${doing.unchanged} Check that sync has the user, then press Retry.`, { userPrincipalName: upn });
        return u;
      };
      const user = await read();
      const asked = ctx.now.getTime();
      try {
        await graph.revokeSignInSessions(user.id);
      } catch (err) {
        throw graphFailure(err, doing);
      }
      const since = (u: SessionsRow): number => (u.signInSessionsValidFromDateTime ? Date.parse(u.signInSessionsValidFromDateTime) : Number.NaN);
      const check = await readBack.confirm(read, (u) => since(u) >= asked - SKEW_MS);
      if (!check.ok) {
        throw readBack.notTaken(ctx, 'Microsoft Graph', 'revokeSignInSessions', `signInSessionsValidFromDateTime ${check.value.signInSessionsValidFromDateTime ?? 'empty'}`, 'Revoke the sessions in the Entra admin centre (the user → Revoke sessions).', { userPrincipalName: upn });
      }
      ctx.log.info('entra: sign-in sessions revoked', { reference: ctx.reference, userPrincipalName: upn });
      return { kind: 'done', changed: true, result: { userPrincipalName: upn, signInSessionsValidFrom: check.value.signInSessionsValidFromDateTime ?? null } };
    },
  };
}
