/**
 * Planning of the kinds that change a recipient's addresses or nature: primary and secondary addresses,
 * cloud-managed, mailbox type.
 */
import { countryName } from '../requests/countries';
import { isMailboxType, recipientTypeOfMailboxType, type CloudManagedRequest, type MailboxTypeRequest, type PrimaryAddressRequest, type SecondaryAddressAddRequest, type SecondaryAddressRemoveRequest } from '../requests/kinds';
import { describeType, exchangeAuthority, primaryAuthority } from '../requests/tenant-profile';
import { awaitAdChange, exoIdentity, FLIP_ADVICE, licenceInput, makeCloudManagedFirst, PlanRefusedError, removeLicence, requireDn, setCloudManaged, type Builder } from './plan-builder';

export function planPrimary(b: Builder, r: PrimaryAddressRequest): string {
  const t = r.target;
  const a = primaryAuthority(t, b.profile);
  if (a.side === 'refused') throw new PlanRefusedError(a.reason);
  const old = t.primarySmtpAddress;
  if (a.side === 'ad') {
    const dn = requireDn(t);
    // mail and proxyAddresses name the same primary (Entra's proxy calculation takes an SMTP: entry of proxyAddresses
    // before mail: see primaryAuthority).
    const setPrimary = (): void =>
      b.add('ad.set-primary', 'ad.setPrimaryAddress', { dn, mail: r.newAddress, previous: old, rewriteProxyAddresses: a.rewriteProxyAddresses },
        a.rewriteProxyAddresses
          ? `Set mail to ${r.newAddress} on ${dn} and make SMTP:${r.newAddress} the primary in proxyAddresses (the old address stays as smtp:${old})`
          : `Set mail to ${r.newAddress} on ${dn}: AD mail decides the primary address, even for cloud-managed mailboxes`);
    if (t.type === 'MailUser') {
      // A mail user's address is its outside address: mail (with proxyAddresses) and targetAddress.
      setPrimary();
      b.add('ad.set-target', 'ad.setAttributes', { dn, replace: { targetAddress: `SMTP:${r.newAddress}` } }, `Set targetAddress to SMTP:${r.newAddress} on ${dn}`);
      awaitAdChange(b, t, { externalEmailAddress: r.newAddress });
    } else if (t.type === 'MailContact') {
      setPrimary();
      awaitAdChange(b, t, { primarySmtpAddress: r.newAddress });
    } else {
      setPrimary();
      awaitAdChange(b, t, { primarySmtpAddress: r.newAddress, emailAddressesInclude: [`smtp:${old}`] });
      if (t.isExchangeCloudManaged === true) {
        b.warn(`${t.name} is cloud-managed: AD mail still overrides its primary address, so Mailroom changes it in AD (proxyAddresses too, so that both name the same primary); AD's proxyAddresses no longer reach Exchange Online and may now differ from it.`);
      }
    }
    b.note(`The old address ${old} stays as a secondary address, so mail to it still arrives.`);
    return `Make ${r.newAddress} the primary address of ${t.name}`;
  }
  if (a.makeCloudManagedFirst) makeCloudManagedFirst(b, t);
  b.add('exo.set-primary', 'exo.setPrimaryAddress', { identity: exoIdentity(t), recipientType: t.type, address: r.newAddress },
    `Make ${r.newAddress} the primary address of ${t.name} in Exchange Online (the old one stays as a secondary address)`);
  if (a.alignAdMail && t.adDn !== undefined) {
    // HB: AD mail keeps overriding the primary address even when cloud-managed: if AD has one, align it.
    b.add('ad.align-mail', 'ad.setAttributes', { dn: t.adDn, replaceIfPresent: { mail: r.newAddress } },
      `If ${t.adDn} has a mail value in AD, set it to ${r.newAddress} too (AD mail would otherwise override the primary address at the next sync)`);
  }
  return `Make ${r.newAddress} the primary address of ${t.name}`;
}

export function planSecondary(b: Builder, r: SecondaryAddressAddRequest | SecondaryAddressRemoveRequest): string {
  const t = r.target;
  const a = exchangeAuthority(t, b.profile);
  if (a.side === 'refused') throw new PlanRefusedError(a.reason);
  const adding = r.kind === 'secondary-address-add';
  const proxy = `smtp:${r.address}`;
  if (a.side === 'ad') {
    const dn = requireDn(t);
    // HB: secondary addresses can be added in AD proxyAddresses (synced) while AD masters the Exchange attributes.
    b.add(adding ? 'ad.add-address' : 'ad.remove-address', 'ad.setAttributes', adding ? { dn, add: { proxyAddresses: [proxy] } } : { dn, remove: { proxyAddresses: [proxy] } },
      `${adding ? 'Add' : 'Remove'} ${proxy} ${adding ? 'to' : 'from'} proxyAddresses of ${dn}`);
    awaitAdChange(b, t, adding ? { emailAddressesInclude: [proxy] } : { emailAddressesExclude: [proxy] });
  } else {
    if (a.makeCloudManagedFirst) makeCloudManagedFirst(b, t);
    // HB: … or in EXO once the mailbox is cloud-managed (-EmailAddresses @{Add=…}).
    b.add(adding ? 'exo.add-address' : 'exo.remove-address', 'exo.setEmailAddresses', { identity: exoIdentity(t), recipientType: t.type, add: adding ? [proxy] : [], remove: adding ? [] : [proxy] },
      `${adding ? 'Add the secondary address' : 'Remove the address'} ${r.address} ${adding ? 'to' : 'from'} ${t.name} in Exchange Online`);
    if (t.isDirSynced && !a.makeCloudManagedFirst) b.note(`${t.name} is cloud-managed: its addresses are changed in Exchange Online; AD's proxyAddresses are left as they are.`);
  }
  return `${adding ? 'Add' : 'Remove'} the address ${r.address} ${adding ? 'to' : 'from'} ${t.name}`;
}

export function planCloudManaged(b: Builder, r: CloudManagedRequest): string {
  const t = r.target;
  if (!isMailboxType(t.type) || !t.isDirSynced) throw new PlanRefusedError(`${t.name} is not a synced mailbox; IsExchangeCloudManaged does not apply.`);
  if (!r.enabled && b.profile.exchangeAttributeMode === 'cloud-default') {
    throw new PlanRefusedError('This tenant has the organisation default ExchangeAttributesCloudManagedByDefault on: Mailroom does not hand Exchange attributes back to AD.');
  }
  // HB: it is set only in EXO (Set-Mailbox -IsExchangeCloudManaged); it can be set back to False.
  setCloudManaged(b, exoIdentity(t), r.enabled, t.name);
  if (!r.enabled) {
    b.warn('At the next sync, AD\'s Exchange attributes (proxyAddresses, alias, hiding from address lists …) overwrite what was changed in Exchange Online since: make sure AD holds every address to keep.');
  }
  b.note(FLIP_ADVICE);
  return `${r.enabled ? 'Manage' : 'Stop managing'} the Exchange attributes of ${t.name} in Exchange Online`;
}

export function planMailboxType(b: Builder, r: MailboxTypeRequest): string {
  const p = b.profile;
  const t = r.target;
  const id = exoIdentity(t);
  const upn = t.userPrincipalName;
  const needsLicence = r.type === 'Regular' || ((r.type === 'Room' || r.type === 'Equipment') && p.roomsKeepLicence);
  const licensed = t.type === 'UserMailbox' || ((t.type === 'RoomMailbox' || t.type === 'EquipmentMailbox') && p.roomsKeepLicence);
  if (r.adjustLicence && needsLicence && !licensed && upn !== undefined) {
    // Licence first, so that a Regular mailbox is never without one.
    const l = p.licensing;
    b.add('entra.usage-location', 'entra.ensureUsageLocation', { userPrincipalName: upn, usageLocation: p.defaultUsageLocation, onlyIfMissing: true },
      `Set the usage location to ${p.defaultUsageLocation} (${countryName(p.defaultUsageLocation)}) if the user has none (licences need one)`);
    if (l.mode === 'group' && l.adGroupDn) {
      b.add('ad.licence-group', 'ad.addGroupMember', { groupDn: l.adGroupDn, memberDn: requireDn(t) }, `Add the user to the AD licensing group ${l.groupName}; the licence follows after the next sync`);
    } else {
      b.add('entra.assign-licence', 'entra.assignLicence', licenceInput(upn, l), l.mode === 'direct' ? `Assign the ${l.skuName} licence` : `Add the user to the licensing group ${l.groupName}`);
    }
  }
  b.add('exo.set-type', 'exo.setMailboxType', { identity: id, type: r.type }, `Convert the mailbox of ${t.name} to ${r.type}`);
  if (r.adjustLicence && !needsLicence && licensed && upn !== undefined) {
    const why = r.type === 'Shared' ? 'shared mailboxes under 50 GB need none' : `${r.type.toLowerCase()} mailboxes need none`;
    removeLicence(b, upn, t.adDn, why);
  }
  if (!r.adjustLicence) b.note('The licence is left as it is.');
  if (r.type === 'Regular' && t.isDirSynced) b.note('The AD account is left as it is: a person who will sign in needs it enabled with a password.');
  if (r.type === 'Shared' && t.isDirSynced) b.note('The AD account is left as it is; shared mailboxes normally have a disabled account (offboarding does both).');
  if (r.type === 'Shared') b.note('Shared mailboxes over 50 GB, or with an archive, still need a licence.');
  return `Convert the mailbox of ${t.name} from ${describeType(t.type)} to ${recipientTypeOfMailboxType(r.type).replace(/Mailbox$/, '').toLowerCase()} mailbox`;
}
