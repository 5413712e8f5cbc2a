/**
 * `npm run doctor -- --print-exo-rbac`: the recipe lists exactly the cmdlets Mailroom calls, each with its role, and
 * prints Microsoft's documented app-only recipe (New-ServicePrincipal, a recipient write scope, role groups,
 * Add-RoleGroupMember), one comment per command saying why.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CloudConfig } from '../../src/config/config';
import { exoRbacScript, MAILROOM_EXO_CMDLETS } from '../../src/doctor/exo-rbac';
import { projectRoot } from '../../src/paths';
import { mayRunCmdlet } from '../../src/sandbox/cloud/exo-authz';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const cloud: CloudConfig = {
  credentialType: 'ClientCredentials', tenantId: 'c0ffee00-0000-4000-8000-000000000001', authorityHost: 'https://login.microsoftonline.com', clientId: '11111111-2222-4333-8444-555555555555', clientSecret: undefined, clientCertificatePath: '/etc/mailroom/app.pem', graphUrl: 'https://graph.microsoft.com/v1.0', exoUrl: 'https://outlook.office365.com/adminapi/beta/c0ffee00-0000-4000-8000-000000000001/InvokeCommand' };

describe('doctor: the Exchange Online RBAC recipe (--print-exo-rbac)', function () {
  it('lists exactly the Exchange cmdlets Mailroom calls (every quoted cmdlet name in src outside the sandbox and the doctor)', function () {
    const src = path.join(projectRoot(), 'src');
    const called = new Set<string>();
    for (const file of sourceFiles(src)) {
      const rel = path.relative(src, file);
      if (rel.startsWith(`sandbox${path.sep}`) || rel.startsWith(`doctor${path.sep}`)) continue;
      for (const m of readFileSync(file, 'utf8').matchAll(/'((?:Get|Set|New|Remove|Add|Enable|Disable|Update)-[A-Z][A-Za-z]+)'/g)) called.add(m[1]!);
    }
    assert.deepEqual([...called].sort(), [...new Set(MAILROOM_EXO_CMDLETS.map((c) => c.cmdlet))].sort());
  });

  it('prints New-ServicePrincipal for the app, a scope on the mail domain, the two role groups and their members, each command with a comment', function () {
    const script = exoRbacScript({ cloud, profile: { ous: {}, mailDomain: 'contoso.com' } });
    assert.match(script, /\$entraSp = Get-MgServicePrincipal -Filter "appId eq '11111111-2222-4333-8444-555555555555'"/);
    assert.match(script, /New-ServicePrincipal -AppId \$entraSp\.AppId -ObjectId \$entraSp\.Id -DisplayName 'Mailroom'/);
    assert.match(script, /\$mailDomain = 'contoso\.com' {2}# MAIL_DOMAIN/);
    assert.match(script, /New-ManagementScope -Name 'Mailroom recipients' -RecipientRestrictionFilter "\(EmailAddresses -like 'smtp:\*@\$mailDomain'\) -or \(RecipientTypeDetails -eq 'MailContact'\)"/);
    assert.match(script, /New-RoleGroup -Name 'Mailroom recipient management' -Roles "Mail Recipients","Distribution Groups","Security Group Creation and Membership" -CustomRecipientWriteScope 'Mailroom recipients'/);
    assert.match(script, /New-RoleGroup -Name 'Mailroom configuration reader' -Roles "View-Only Configuration" -Description/);
    assert.match(script, /Add-RoleGroupMember -Identity 'Mailroom recipient management' -Member \$exoSp\.Identity/);
    assert.doesNotMatch(script, /New-ManagementRoleAssignment|Mail Recipient Creation|Organization Management"/, 'no unscoped assignment, no creation role');
    for (const c of MAILROOM_EXO_CMDLETS) assert.ok(script.includes(`Get-ManagementRole -Cmdlet ${c.cmdlet}`), c.cmdlet);
    const commands = script.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    for (const l of commands) assert.match(l, /\S {2}# \S/, `no comment on: ${l}`);
  });

  it('without MAIL_DOMAIN, takes the default accepted domain, as Mailroom does', function () {
    assert.match(exoRbacScript({ cloud, profile: { ous: {} } }), /\$mailDomain = \(Get-AcceptedDomain \| Where-Object Default\)\.DomainName/);
  });

  it("gives the emulated Exchange Online exactly enough: the recipe's roles run every cmdlet Mailroom calls, and no recipient creation", function () {
    const roles = [...new Set(MAILROOM_EXO_CMDLETS.map((c) => c.role))];
    for (const c of MAILROOM_EXO_CMDLETS) assert.ok(mayRunCmdlet([], roles, c.cmdlet), c.cmdlet);
    for (const c of ['New-Mailbox', 'Remove-MailUser', 'Set-OrganizationConfig']) assert.equal(mayRunCmdlet([], roles, c), false, c);
  });
});
