import type { Principal } from '../config/config';

export type Role = 'requester' | 'approver' | 'admin';

/** Answers which of the given Entra groups a user is a (transitive) member of, e.g. Graph checkMemberGroups. */
export interface GroupMembership {
  memberGroups(userAadObjectId: string, groupIds: readonly string[]): Promise<string[]>;
}

export interface RoleConfig {
  readonly requesters: readonly Principal[];
  readonly approvers: readonly Principal[];
  readonly admins: readonly Principal[];
}

/**
 * Resolves a user's roles from configured user ids and Entra group ids. The user id always comes from the
 * authenticated activity (`from.aadObjectId`), never from card data. Group look-ups are cached briefly.
 */
export class RoleResolver {
  private readonly cache = new Map<string, { roles: Role[]; until: number }>();

  constructor(
    private readonly config: RoleConfig,
    private readonly groups: GroupMembership | undefined,
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Group ids named in the configuration; roles based on them need a GroupMembership source. */
  configuredGroupIds(): string[] {
    const ids = new Set<string>();
    for (const list of [this.config.requesters, this.config.approvers, this.config.admins]) {
      for (const p of list) if (p.kind === 'group') ids.add(p.id);
    }
    return [...ids];
  }

  async rolesOf(userAadObjectId: string): Promise<Role[]> {
    const user = userAadObjectId.toLowerCase();
    const hit = this.cache.get(user);
    if (hit && hit.until > this.now()) return hit.roles;
    const groupIds = this.configuredGroupIds();
    const member = new Set(groupIds.length && this.groups ? (await this.groups.memberGroups(user, groupIds)).map((g) => g.toLowerCase()) : []);
    const matches = (list: readonly Principal[]) =>
      list.some((p) => p.kind === 'anyone' || (p.kind === 'user' && p.id === user) || (p.kind === 'group' && member.has(p.id)));
    const roles: Role[] = [];
    if (matches(this.config.requesters)) roles.push('requester');
    if (matches(this.config.approvers)) roles.push('approver');
    if (matches(this.config.admins)) roles.push('admin');
    this.cache.set(user, { roles, until: this.now() + this.ttlMs });
    return roles;
  }
}
