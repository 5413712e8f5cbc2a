/**
 * The Active Directory step executors: every `ad.*` action of a plan, each idempotent (look, act only if the
 * desired state is missing, report). They talk to AD through `AdDirectoryPort` (ad-port.ts; `DirectoryClient`
 * fits it) and keep generated passwords in the `SecretVault`.
 *
 * - ad-create.ts: `ad.createUser`, `ad.createContact`, `ad.createGroup` (look first: ad-look.ts);
 * - ad-change.ts: `ad.setAttributes`, `ad.setPrimaryAddress`, `ad.disableAccount`, `ad.enableAccount`, `ad.add/removeGroupMember`,
 *   `ad.add/removePublicDelegate`, `ad.deleteObject`;
 * - ad-errors.ts: whatever they throw becomes a StepError (transient or permanent) here, in {@link adExecutors}.
 */
import type { StepAction, StepInputs } from '../../plans';
import { accountEnabled, deleteObject, groupMember, publicDelegate, setAttributes, setPrimaryAddress } from './ad-change';
import { createContact, createGroup, createUser } from './ad-create';
import { toStepError } from './ad-errors';
import type { AdExecutorDeps } from './ad-port';
import type { StepContext, StepExecutor, StepOutcome } from './types';

type AdAction = Extract<StepAction, `ad.${string}`>;

/** An executor whose failures are StepErrors: `doing` says what it was doing, for faults that are not AD's. */
function executor<A extends AdAction>(action: A, doing: string, body: (input: StepInputs[A], ctx: StepContext) => Promise<StepOutcome>): StepExecutor<A> {
  return {
    action,
    async run(input: StepInputs[A], ctx: StepContext): Promise<StepOutcome> {
      try {
        return await body(input, ctx);
      } catch (err) {
        throw toStepError(err, doing);
      }
    },
  };
}

/** The executors of every `ad.*` action. */
export function adExecutors(deps: AdExecutorDeps): StepExecutor[] {
  const { directory } = deps;
  const all: { [A in AdAction]: StepExecutor<A> } = {
    'ad.createUser': executor('ad.createUser', 'create the AD user', (i, c) => createUser(deps, i, c)),
    'ad.createContact': executor('ad.createContact', 'create the AD contact', (i, c) => createContact(deps, i, c)),
    'ad.createGroup': executor('ad.createGroup', 'create the AD group', (i, c) => createGroup(deps, i, c)),
    'ad.setAttributes': executor('ad.setAttributes', 'change the AD object', (i, c) => setAttributes(directory, i, c)),
    'ad.setPrimaryAddress': executor('ad.setPrimaryAddress', 'set the primary address in AD', (i, c) => setPrimaryAddress(directory, i, c)),
    'ad.disableAccount': executor('ad.disableAccount', 'disable the AD account', (i, c) => accountEnabled(directory, i, c, false)),
    'ad.enableAccount': executor('ad.enableAccount', 'enable the AD account again', (i, c) => accountEnabled(directory, i, c, true)),
    'ad.addGroupMember': executor('ad.addGroupMember', 'add the group member in AD', (i, c) => groupMember(directory, i, c, true)),
    'ad.removeGroupMember': executor('ad.removeGroupMember', 'remove the group member in AD', (i, c) => groupMember(directory, i, c, false)),
    'ad.deleteObject': executor('ad.deleteObject', 'delete the AD object', (i, c) => deleteObject(directory, i, c)),
    'ad.addPublicDelegate': executor('ad.addPublicDelegate', 'add send on behalf in AD (publicDelegates)', (i, c) => publicDelegate(directory, i, c, true)),
    'ad.removePublicDelegate': executor('ad.removePublicDelegate', 'remove send on behalf in AD (publicDelegates)', (i, c) => publicDelegate(directory, i, c, false)),
  };
  return Object.values(all);
}
