/**
 * The approver look-ups on Entra ID and Exchange Online: a requester's manager (Graph; a synced user's comes from AD's
 * `manager` through sync), a group's owners (Exchange Online's ManagedBy, which for a synced group comes from AD's
 * `managedBy`), the users of a group with nested groups, and a person named by address or sign-in name.
 */
import type { ApproverDirectoryPort, DirectoryUser } from './approver-resolution';

export interface ApproverGraphPort {
  manager(userId: string): Promise<{ id: string; displayName: string } | null>;
  memberUserIds(groupId: string): Promise<string[]>;
  /** GET /users/{id or UPN}; null on 404. */
  user<T = Record<string, unknown>>(idOrUpn: string, select: readonly string[]): Promise<T | null>;
}

export interface ApproverExoPort {
  invoke<T = Record<string, unknown>>(cmdlet: string, parameters?: Record<string, unknown>): Promise<{ value: T[] }>;
}

interface RecipientRow {
  DisplayName?: string;
  Name?: string;
  RecipientTypeDetails?: string;
  ExternalDirectoryObjectId?: string;
  ManagedBy?: string[] | null;
}

/** Recipients that are people who can sign in to Teams. */
const PERSON_TYPES = new Set(['UserMailbox', 'MailUser', 'User']);

export class GraphExoApproverDirectory implements ApproverDirectoryPort {
  constructor(
    private readonly graph: ApproverGraphPort,
    private readonly exo: ApproverExoPort,
  ) {}

  async managerOf(userId: string): Promise<DirectoryUser | null> {
    const m = await this.graph.manager(userId);
    return m ? { id: m.id.toLowerCase(), name: m.displayName } : null;
  }

  async groupOwners(groupIdentity: string): Promise<DirectoryUser[]> {
    const group = (await this.exo.invoke<RecipientRow>('Get-DistributionGroup', { Identity: groupIdentity })).value[0];
    const out: DirectoryUser[] = [];
    for (const owner of group?.ManagedBy ?? []) {
      const u = await this.person(owner);
      if (u && !out.some((x) => x.id === u.id)) out.push(u);
    }
    return out;
  }

  memberUserIds(groupId: string): Promise<string[]> {
    return this.graph.memberUserIds(groupId);
  }

  /** A person by sign-in name or object id (Entra ID), else by address or alias (Exchange Online). */
  async findUser(identity: string): Promise<DirectoryUser | null> {
    if (/^[^\s@/?#]+@[^\s@/?#]+$/.test(identity) || /^[0-9a-f-]{36}$/i.test(identity)) {
      const u = await this.graph.user<{ id: string; displayName?: string | null; accountEnabled?: boolean }>(identity, ['id', 'displayName', 'accountEnabled']);
      if (u && u.accountEnabled !== false) return { id: u.id.toLowerCase(), name: u.displayName ?? identity };
    }
    return this.person(identity);
  }

  /** A person Exchange Online knows by this identity (address, UPN, alias, name), with their Entra object id. */
  private async person(identity: string): Promise<DirectoryUser | null> {
    let rows: RecipientRow[];
    try {
      rows = (await this.exo.invoke<RecipientRow>('Get-Recipient', { Identity: identity })).value;
    } catch (err) {
      // "couldn't be found" and "matches multiple entries" are answers (nobody, or not one person); an outage is not
      if (/couldn't be found|matches multiple entries|ManagementObjectNotFound|ManagementObjectAmbiguous/i.test(err instanceof Error ? err.message : String(err))) return null;
      throw err;
    }
    const r = rows.length === 1 ? rows[0] : undefined;
    if (!r?.ExternalDirectoryObjectId || !PERSON_TYPES.has(r.RecipientTypeDetails ?? '')) return null;
    return { id: r.ExternalDirectoryObjectId.toLowerCase(), name: r.DisplayName || r.Name || identity };
  }
}
