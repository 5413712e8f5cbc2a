import type { Logger } from '../log';
import type { AuditEventInput } from '../store';
import { exchangeAttributeDifferences } from './drift';

/** What the sweep and the drift report need from Exchange Online and AD. */
export interface SweepExoPort {
  invoke<T = Record<string, unknown>>(cmdlet: string, parameters?: Record<string, unknown>): Promise<{ value: T[] }>;
}
export interface SweepAdPort {
  findByIdentity(identity: string): Promise<{
    dn: string;
    mail?: string;
    mailNickname?: string;
    userPrincipalName?: string;
    proxyAddresses: readonly string[];
  } | null>;
}

interface MailboxRow {
  Identity?: string;
  Name?: string;
  DisplayName?: string;
  Alias?: string;
  PrimarySmtpAddress?: string;
  EmailAddresses?: string[];
  RecipientTypeDetails?: string;
  IsDirSynced?: boolean;
  IsExchangeCloudManaged?: boolean;
  HiddenFromAddressListsEnabled?: boolean;
  ExchangeObjectId?: string;
  Guid?: string;
}

export interface SweepReport {
  readonly checked: number;
  readonly changed: { name: string; address: string }[];
  readonly failed: { name: string; address: string; error: string }[];
  readonly alreadyCloudManaged: number;
}

export interface DriftItem {
  readonly name: string;
  readonly address: string;
  readonly differences: string[];
}

/**
 * The scheduled cloud-managed sweep and the drift report, both run as the app (certificate or managed
 * identity), never as a person. `Get-Mailbox -Filter 'IsExchangeCloudManaged -eq $true'` does not work, so the
 * sweep filters client-side: every dir-synced mailbox not yet cloud-managed gets IsExchangeCloudManaged=True,
 * checked by reading it back.
 */
export class CloudManagedSweep {
  constructor(
    private readonly exo: SweepExoPort,
    private readonly ad: SweepAdPort,
    private readonly audit: (e: AuditEventInput) => Promise<unknown>,
    private readonly log: Logger,
  ) {}

  private async mailboxes(): Promise<MailboxRow[]> {
    return (await this.exo.invoke<MailboxRow>('Get-Mailbox', { ResultSize: 'Unlimited' })).value;
  }

  async sweep(actor: { aadObjectId: string | null; name: string }): Promise<SweepReport> {
    const all = await this.mailboxes();
    const todo = all.filter((m) => m.IsDirSynced === true && m.IsExchangeCloudManaged !== true);
    const changed: SweepReport['changed'] = [];
    const failed: SweepReport['failed'] = [];
    for (const m of todo) {
      const id = m.ExchangeObjectId ?? m.Guid ?? m.PrimarySmtpAddress ?? m.Identity ?? '';
      const who = { name: m.DisplayName ?? m.Name ?? id, address: m.PrimarySmtpAddress ?? '' };
      try {
        await this.exo.invoke('Set-Mailbox', { Identity: id, IsExchangeCloudManaged: true });
        const back = (await this.exo.invoke<MailboxRow>('Get-Mailbox', { Identity: id })).value[0];
        if (back?.IsExchangeCloudManaged !== true) throw new Error('Exchange Online accepted the change but still shows IsExchangeCloudManaged=False');
        changed.push(who);
      } catch (err) {
        failed.push({ ...who, error: err instanceof Error ? err.message : String(err) });
      }
    }
    const report: SweepReport = { checked: all.length, changed, failed, alreadyCloudManaged: all.filter((m) => m.IsExchangeCloudManaged === true).length };
    await this.audit({
      actorAadObjectId: actor.aadObjectId,
      actorName: actor.name,
      event: 'sweep.cloud-managed',
      data: { checked: report.checked, changed: changed.map((c) => c.address), failed: failed.map((f) => ({ address: f.address, error: f.error })) },
    });
    this.log.info('cloud-managed sweep', { checked: report.checked, changed: changed.length, failed: failed.length });
    return report;
  }

  /** Cloud-managed, dir-synced mailboxes whose Exchange attributes in AD and EXO no longer agree. */
  async drift(actor: { aadObjectId: string | null; name: string }): Promise<{ checked: number; items: DriftItem[] }> {
    const managed = (await this.mailboxes()).filter((m) => m.IsDirSynced === true && m.IsExchangeCloudManaged === true);
    const items: DriftItem[] = [];
    for (const m of managed) {
      const address = m.PrimarySmtpAddress ?? '';
      const ad = await this.ad.findByIdentity(address);
      // the drift report compares addresses and the alias only (the card compares the display name and hiding too)
      const differences = ad ? exchangeAttributeDifferences({ mail: ad.mail, mailNickname: ad.mailNickname, proxyAddresses: ad.proxyAddresses, userPrincipalName: ad.userPrincipalName }, m) : ['no AD object has this address any more'];
      if (differences.length) items.push({ name: m.DisplayName ?? m.Name ?? address, address, differences });
    }
    await this.audit({ actorAadObjectId: actor.aadObjectId, actorName: actor.name, event: 'report.drift', data: { checked: managed.length, drifted: items.map((i) => i.address) } });
    return { checked: managed.length, items };
  }
}
