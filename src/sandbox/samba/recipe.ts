import { createHash } from 'node:crypto';

/**
 * Everything that decides what a provisioned domain looks like. Any change here changes {@link recipeHash}, so
 * a cached template built from an older recipe is never reused.
 */
export const REALM = 'CORP.EXAMPLE.TEST';
export const DOMAIN = 'CORP';
const HOST_NAME = 'dc1';
export const DC_FQDN = `${HOST_NAME}.${REALM.toLowerCase()}`;
export const BASE_DN = REALM.toLowerCase()
  .split('.')
  .map((part) => `DC=${part}`)
  .join(',');
export const ADMIN_UPN = `Administrator@${REALM}`;

/** Bump when the provisioning steps change in a way the data below does not show. */
const RECIPE_REVISION = 1;

/** The address a template is provisioned with; every clone rewrites `interfaces` to its own. */
const TEMPLATE_ADDRESS = '127.0.0.1';

/**
 * smb.conf options given at provision time (options on the `samba` command line do not reach its child tasks).
 * `{dir}` stands for the DC's folder. Only the LDAP server runs; it binds to one loopback address only.
 */
export function provisionOptions(dir: string): string[] {
  return [
    `interfaces=${TEMPLATE_ADDRESS}/8`,
    'bind interfaces only=yes',
    'server services=ldap',
    `pid directory=${dir}/run`,
    `ncalrpc dir=${dir}/run/ncalrpc`,
    `winbindd socket directory=${dir}/run/winbindd`,
    `ntp signd socket directory=${dir}/run/ntp_signd`,
    `log file=${dir}/log/samba.log`,
    'dsdb:schema update allowed=true',
    // Without a DH parameter file Samba generates fresh DH primes at every start: 0.3-1.5 s of CPU, at random.
    `tls dh params file=${dir}/private/tls/dhparams.pem`,
  ];
}

/** `samba-tool domain provision` arguments except the password and the options above. */
export const PROVISION_ARGS = [
  'domain',
  'provision',
  `--realm=${REALM}`,
  `--domain=${DOMAIN}`,
  '--server-role=dc',
  '--dns-backend=NONE',
  '--use-rfc2307',
  `--host-name=${HOST_NAME}`,
];

/**
 * Password ages only: minimum 0 lets a test change a password twice in a row, maximum 0 keeps a cached
 * template's Administrator password from expiring (Samba's default is 42 days). Complexity, length and
 * history stay at Samba's defaults.
 */
export const PASSWORD_SETTINGS_ARGS = ['domain', 'passwordsettings', 'set', '--min-pwd-age=0', '--max-pwd-age=0'];

/** An attribute Mailroom writes that Samba's base schema lacks (definitions as in Exchange's schema). */
export interface SchemaAttribute {
  readonly cn: string;
  readonly lDAPDisplayName: string;
  readonly attributeID: string;
  readonly attributeSyntax: string;
  readonly oMSyntax: number;
  readonly schemaIDGUID: string;
  readonly searchFlags: number;
  readonly rangeLower?: number;
  readonly rangeUpper?: number;
  /** Multi-valued (default: single-valued). */
  readonly multiValued?: boolean;
  /** A linked attribute's link id (even: the forward link; odd: its back link), with its object class (hex, DN syntax). */
  readonly linkID?: number;
  readonly oMObjectClass?: string;
}

export const EXTRA_ATTRIBUTES: readonly SchemaAttribute[] = [
  {
    cn: 'ms-Exch-Mail-Nickname',
    lDAPDisplayName: 'mailNickname',
    attributeID: '1.2.840.113556.1.2.447',
    attributeSyntax: '2.5.5.12',
    oMSyntax: 64,
    schemaIDGUID: 'bf9679b3-0de6-11d0-a285-00aa003049e2',
    searchFlags: 5,
    rangeLower: 1,
    rangeUpper: 64,
  },
  {
    cn: 'ms-Exch-Target-Address',
    lDAPDisplayName: 'targetAddress',
    attributeID: '1.2.840.113556.1.2.352',
    attributeSyntax: '2.5.5.12',
    oMSyntax: 64,
    schemaIDGUID: 'f0f8ff9f-1191-11d0-a060-00aa006c33ed',
    searchFlags: 1,
    rangeLower: 1,
    rangeUpper: 1123,
  },
  {
    cn: 'ms-Exch-Hide-From-Address-Lists',
    lDAPDisplayName: 'msExchHideFromAddressLists',
    attributeID: '1.2.840.113556.1.4.7000.102.73',
    attributeSyntax: '2.5.5.8',
    oMSyntax: 1,
    schemaIDGUID: 'a21c0b96-b093-11d2-aa06-00c04f8eedd8',
    searchFlags: 16,
  },
  {
    cn: 'ms-Exch-Recipient-Type-Details',
    lDAPDisplayName: 'msExchRecipientTypeDetails',
    attributeID: '1.2.840.113556.1.4.7000.102.50855',
    attributeSyntax: '2.5.5.16',
    oMSyntax: 65,
    schemaIDGUID: '069ba1f8-540a-42a9-bf26-a7dd35475346',
    searchFlags: 1,
  },
  // Send on behalf (Get-Mailbox GrantSendOnBehalfTo): a linked DN attribute AD masters for a synced mailbox.
  {
    cn: 'ms-Exch-Public-Delegates',
    lDAPDisplayName: 'publicDelegates',
    attributeID: '1.2.840.113556.1.2.238',
    attributeSyntax: '2.5.5.1',
    oMSyntax: 127,
    oMObjectClass: '2b0c0287731c00854a',
    schemaIDGUID: 'f0f8ff9a-1191-11d0-a060-00aa006c33ed',
    searchFlags: 16,
    multiValued: true,
    linkID: 14,
  },
  {
    cn: 'ms-Exch-Public-Delegates-BL',
    lDAPDisplayName: 'publicDelegatesBL',
    attributeID: '1.2.840.113556.1.2.295',
    attributeSyntax: '2.5.5.1',
    oMSyntax: 127,
    oMObjectClass: '2b0c0287731c00854a',
    schemaIDGUID: 'bf967a08-0de6-11d0-a285-00aa003049e2',
    searchFlags: 0,
    multiValued: true,
    linkID: 15,
  },
];

/** Classes that may carry the extra attributes: Mail-Recipient is an auxiliary class of user and contact. */
export const EXTENDED_CLASSES = ['Mail-Recipient', 'Group'] as const;

/**
 * Adds {@link EXTRA_ATTRIBUTES} to an offline (stopped) domain's schema through Samba's Python bindings.
 * argv: smb.conf path, JSON of the attributes, JSON of the class names.
 */
export const EXTEND_SCHEMA_PY = `
import base64, json, sys
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB

smb_conf, attributes, classes = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
lp = LoadParm()
lp.load(smb_conf)
db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
schema = str(db.get_schema_basedn())
refresh = "dn:\\nchangetype: modify\\nadd: schemaUpdateNow\\nschemaUpdateNow: 1\\n"

for a in attributes:
    lines = [
        "dn: CN=%s,%s" % (a["cn"], schema),
        "objectClass: top",
        "objectClass: attributeSchema",
        "cn: %s" % a["cn"],
        "lDAPDisplayName: %s" % a["lDAPDisplayName"],
        "attributeID: %s" % a["attributeID"],
        "attributeSyntax: %s" % a["attributeSyntax"],
        "oMSyntax: %d" % a["oMSyntax"],
        "isSingleValued: %s" % ("FALSE" if a.get("multiValued") else "TRUE"),
        "schemaIDGUID: %s" % a["schemaIDGUID"],
        "searchFlags: %d" % a["searchFlags"],
        "showInAdvancedViewOnly: TRUE",
    ]
    for bound in ("rangeLower", "rangeUpper", "linkID"):
        if a.get(bound) is not None:
            lines.append("%s: %d" % (bound, a[bound]))
    if a.get("oMObjectClass"):
        lines.append("oMObjectClass:: %s" % base64.b64encode(bytes.fromhex(a["oMObjectClass"])).decode())
    db.add_ldif("\\n".join(lines) + "\\n")
db.modify_ldif(refresh)

may = "".join("mayContain: %s\\n" % a["lDAPDisplayName"] for a in attributes)
for cls in classes:
    db.modify_ldif("dn: CN=%s,%s\\nchangetype: modify\\nadd: mayContain\\n%s" % (cls, schema, may))
db.modify_ldif(refresh)
print("schema extended: %s" % ", ".join(a["lDAPDisplayName"] for a in attributes))
`;

/**
 * TLS parameters: the template holds the CA, the server key and DH parameters; each clone gets its own server
 * certificate.
 */
export const CERTIFICATES = {
  caSubject: '/O=Mailroom sandbox/CN=Mailroom sandbox CA',
  caDays: 3650,
  serverDays: 825,
  keyAlgorithm: 'EC',
  curve: 'prime256v1',
  /** RFC 7919 group: well-known, so nothing needs to be generated. */
  dhGroup: 'ffdhe2048',
} as const;

/** Short, stable hash of the recipe; part of the template folder's name. */
export function recipeHash(): string {
  const data = JSON.stringify({
    revision: RECIPE_REVISION,
    realm: REALM,
    domain: DOMAIN,
    host: HOST_NAME,
    provision: PROVISION_ARGS,
    options: provisionOptions('{dir}'),
    passwordSettings: PASSWORD_SETTINGS_ARGS,
    attributes: EXTRA_ATTRIBUTES,
    classes: EXTENDED_CLASSES,
    script: EXTEND_SCHEMA_PY,
    certificates: CERTIFICATES,
  });
  return createHash('sha256').update(data).digest('hex').slice(0, 12);
}
