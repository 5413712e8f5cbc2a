/**
 * The delegation script (`npm run doctor -- --print-ad-delegation`): one dsacls.exe line per right of the model,
 * each under a comment saying why, on the configured OUs only (nothing domain-wide), for the configured account.
 */
import assert from 'node:assert/strict';
import type { MailroomConfig } from '../../src/config/config';
import { adDelegationScript, dsaclsLine } from '../../src/doctor/ad-delegation';
import { adRightsFromConfig } from '../../src/doctor/ad-rights';

const BASE = 'DC=corp,DC=example,DC=com';
const OUS = {
  users: `OU=Users,OU=Mailroom,${BASE}`,
  shared: `OU=Shared,OU=Mailroom,${BASE}`,
  rooms: `OU=Resources,OU=Mailroom,${BASE}`,
  contacts: `OU=Contacts,OU=Mailroom,${BASE}`,
  groups: `OU=Groups,OU=Mailroom,${BASE}`,
};

type ScriptConfig = Pick<MailroomConfig, 'profile' | 'directory' | 'envName'>;
const config = (bindDn: string, ous: Record<string, string> = OUS): ScriptConfig => ({
  envName: 'prod',
  profile: { ous },
  directory: { url: 'ldaps://dc1.corp.example.com:636', baseDn: BASE, bindDn, password: 'not printed', caFile: undefined, maxConnections: 4 },
});

/** dsacls.exe lines of a script: [object DN, inheritance flag, account, permission]; commented-out ones separately. */
function grants(script: string): { active: string[][]; commented: string[][] } {
  const parse = (line: string): string[] => {
    const m = /^dsacls\.exe '((?:[^']|'')+)'(?: \/I:([TSP]))? \/G '((?:[^']|'')+):((?:[^']|'')+)'$/.exec(line);
    assert.ok(m, `not a dsacls grant: ${line}`);
    return [m[1]!.replace(/''/g, "'"), m[2] ?? '', m[3]!.replace(/''/g, "'"), m[4]!.replace(/''/g, "'")];
  };
  const lines = script.split('\n');
  return {
    active: lines.filter((l) => l.startsWith('dsacls.exe')).map(parse),
    commented: lines.filter((l) => l.startsWith('# dsacls.exe')).map((l) => parse(l.slice(2))),
  };
}

describe('the AD delegation script', function () {
  it('names every right of the model, each once, under a comment saying why; the Exchange-schema ones commented out', function () {
    const c = config('svc-mailroom@corp.example.com');
    const script = adDelegationScript(c);
    const model = adRightsFromConfig(c);
    const lines = script.split('\n');
    for (const r of model.rights) {
      const line = dsaclsLine(r, 'svc-mailroom@corp.example.com');
      const at = lines.findIndex((l) => l === line || l === `# ${line}`);
      assert.ok(at > 0, `missing: ${line}`);
      assert.equal(lines.filter((l) => l === line || l === `# ${line}`).length, 1, `twice: ${line}`);
      assert.equal(lines[at]!.startsWith('# '), r.onlyIf !== undefined, line);
      // The why comes right before (and, for the conditional ones, the condition).
      const why = r.onlyIf ? lines[at - 2] : lines[at - 1];
      assert.equal(why, `# ${r.why}`, line);
    }
    const { active, commented } = grants(script);
    assert.equal(active.length + commented.length, model.rights.length, 'no grant that is not a right of the model');
    assert.ok(commented.every(([, , , perm]) => perm!.startsWith('RPWP;msExchHideFromAddressLists;') || perm!.startsWith('RPWP;publicDelegates;')));
  });

  it('grants nothing domain-wide: only on the configured OUs, Create/Delete child on the OU itself, the rest on objects below it', function () {
    const { active, commented } = grants(adDelegationScript(config('svc-mailroom@corp.example.com')));
    const ous = new Set(Object.values(OUS));
    for (const [dn, inheritance, account, permission] of [...active, ...commented]) {
      assert.ok(ous.has(dn!), `${dn} is not one of Mailroom's OUs`);
      assert.notEqual(dn, BASE);
      assert.equal(account, 'svc-mailroom@corp.example.com');
      assert.notEqual(inheritance, 'T', 'nothing for the OU and everything below it at once');
      const [rights, objectType, inherited] = permission!.split(';');
      assert.ok(['CC', 'DC', 'CA', 'RPWP'].includes(rights!), permission);
      assert.ok(objectType, `${permission}: no object type, so it would cover every class or attribute`);
      if (rights === 'CC' || rights === 'DC') {
        assert.equal(inheritance, '', `${permission} on the OU itself only`);
        assert.ok(['user', 'contact', 'group'].includes(objectType), permission);
      } else {
        assert.equal(inheritance, 'S', `${permission}: on the objects below the OU`);
        assert.ok(['user', 'contact', 'group'].includes(inherited ?? ''), `${permission}: for one class only`);
      }
      if (rights === 'CA') assert.deepEqual([objectType, inherited], ['Reset Password', 'user']);
    }
    // Every OU gets its classes' Create and Delete child, and nothing else there is a Create or Delete.
    const cc = active.filter(([, , , p]) => /^(CC|DC);/.test(p!)).map(([dn, , , p]) => `${dn!.split(',')[0]} ${p}`).sort();
    assert.deepEqual(cc, [
      'OU=Contacts CC;contact', 'OU=Contacts DC;contact', 'OU=Groups CC;group', 'OU=Groups DC;group',
      'OU=Resources CC;user', 'OU=Resources DC;user', 'OU=Shared CC;user', 'OU=Shared DC;user', 'OU=Users CC;user', 'OU=Users DC;user',
    ]);
  });

  it('takes the account from LDAP_BIND_DN (a DN is named for replacing), quotes DNs for PowerShell, prints no password', function () {
    const down = adDelegationScript(config('CORP\\svc-mailroom'));
    assert.ok(grants(down).active.every(([, , account]) => account === 'CORP\\svc-mailroom'));
    const dn = adDelegationScript(config('CN=svc mailroom,OU=Service Accounts,DC=corp,DC=example,DC=com'));
    assert.match(dn, /LDAP_BIND_DN is a distinguished name; dsacls\.exe wants name@domain or DOMAIN\\name: replace 'svc mailroom' below/);
    const quoted = adDelegationScript(config('svc@corp.example.com', { users: `OU=O'Brien's,${BASE}` }));
    assert.ok(grants(quoted).active.some(([dn]) => dn === `OU=O'Brien's,${BASE}`));
    assert.ok(quoted.includes(`'OU=O''Brien''s,${BASE}'`));
    for (const s of [down, dn, quoted]) assert.doesNotMatch(s, /not printed/);
  });

  it('without an OU for users there is nothing to grant, and it says so', function () {
    const script = adDelegationScript(config('svc@corp.example.com', {}));
    assert.deepEqual(grants(script), { active: [], commented: [] });
    assert.match(script, /No OU is configured for new users \(OU_USERS\): Mailroom creates nothing/);
  });
});
