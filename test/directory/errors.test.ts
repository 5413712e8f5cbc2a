import assert from 'node:assert/strict';
import {
  AlreadyExistsError,
  BusyError,
  ConstraintViolationError,
  InsufficientAccessError,
  InvalidCredentialsError,
  InvalidSyntaxError,
  NoSuchAttributeError,
  NoSuchObjectError,
  NotAllowedOnNonLeafError,
  ObjectClassViolationError,
  OperationsError,
  TypeOrValueExistsError,
  UnavailableError,
  UnwillingToPerformError,
} from 'ldapts';
import { toDirectoryError, type OperationContext } from '../../src/directory/errors';

const create: OperationContext = {
  action: 'create',
  target: "the user 'Ada Lovelace' (ada)",
  dn: 'CN=Ada Lovelace,OU=Staff,DC=corp,DC=example',
  parentDn: 'OU=Staff,DC=corp,DC=example',
  values: { sAMAccountName: 'ada', userPrincipalName: 'ada@corp.example', mailNickname: 'x'.repeat(70) },
};
const modify: OperationContext = { action: 'modify', target: "'Ada Lovelace'", dn: 'CN=Ada Lovelace,OU=Staff,DC=corp,DC=example' };
const connect: OperationContext = { action: 'connect', server: 'ldaps://dc1.corp.example', bindDn: 'svc-mailroom@corp.example', connectTimeoutMs: 5000 };

/** [what, error, context, kind, transient, text the message must contain] */
const cases: [string, unknown, OperationContext, string, boolean, RegExp][] = [
  ['Samba wrong password', new InvalidCredentialsError('80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1'), connect, 'invalid-credentials', false, /service account 'svc-mailroom@corp.example' could not sign in.*user name or password is wrong; nothing was changed/],
  ['Windows disabled service account', new InvalidCredentialsError('80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 533, v4563'), connect, 'invalid-credentials', false, /account is disabled/],
  ['Windows locked out', new InvalidCredentialsError('80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563'), connect, 'invalid-credentials', false, /locked out/],
  ['Samba not bound', new OperationsError('00002020: Operation unavailable without authentication'), modify, 'not-bound', true, /no longer signed in/],
  ['Windows not bound', new OperationsError('000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563'), modify, 'not-bound', true, /no longer signed in/],
  ['schema lacks mailNickname', new NoSuchAttributeError("0000200A: objectclass_attrs: attribute 'mailNickname' on entry 'CN=x' was not found in the schema!"), create, 'schema-missing-attribute', false, /no attribute 'mailNickname'.*nothing was created/],
  ['password too short', new ConstraintViolationError('0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 7 characters!'), modify, 'password-policy', false, /too short \(the domain requires at least 7 characters\)/],
  ['password complexity', new ConstraintViolationError('0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!'), modify, 'password-policy', false, /not complex enough/],
  ['Windows password policy', new ConstraintViolationError('0000052D: SvcErr: DSID-031A126C, problem 5003 (WILL_NOT_PERFORM), data 0'), modify, 'password-policy', false, /length, complexity or history/],
  ['Samba duplicate sAMAccountName', new AlreadyExistsError("00002071: samldb: samAccountName 'ada' already in use!"), create, 'already-exists', false, /^The sAMAccountName 'ada' is already used by another AD account; nothing was created\.$/],
  ['Windows duplicate sAMAccountName', new AlreadyExistsError('00000524: UpdErr: DSID-031A11E2, problem 6005 (ENTRY_EXISTS), data 0'), create, 'already-exists', false, /^The sAMAccountName 'ada' is already used by another AD account; nothing was created\.$/],
  ['Samba duplicate UPN', new ConstraintViolationError("0000202F: samldb: userPrincipalName 'ada@corp.example' is already in use "), create, 'already-exists', false, /The userPrincipalName 'ada@corp.example' is already used/],
  ['Windows duplicate UPN', new ConstraintViolationError('000021C7: AtrErr: DSID-03200BBA, #1:\n\t0: 000021C7: DSID-03200BBA, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 90290 (userPrincipalName)'), create, 'already-exists', false, /The userPrincipalName 'ada@corp.example' is already used/],
  ['DN exists', new AlreadyExistsError('Entry CN=Ada Lovelace,OU=Staff,DC=corp,DC=example already exists'), create, 'already-exists', false, /An object named 'Ada Lovelace' already exists in 'OU=Staff,DC=corp,DC=example'; nothing was created/],
  ['invalid character', new ConstraintViolationError("0000202F: samldb: sAMAccountName contains invalid '/' character\n"), create, 'constraint', false, /sAMAccountName contains the character '\/'/],
  ['invalid syntax', new InvalidSyntaxError("0000200B: objectclass_attrs: attribute 'mailNickname' on entry 'CN=x' contains at least one invalid value!"), create, 'invalid-syntax', false, /The value 'x{70}' for 'mailNickname' has the wrong format or is too long for Active Directory; nothing was created/],
  ['wrong class', new ObjectClassViolationError("00002014: objectclass_attrs: attribute 'sAMAccountName' on entry 'CN=x' does not exist in the specified objectclasses!"), create, 'wrong-object-class', false, /'sAMAccountName' cannot be set on this kind of object/],
  ['parent missing', new NoSuchObjectError('00002030: objectclass: Cannot add CN=x,OU=nope,DC=corp, parent does not exist!'), create, 'no-such-object', false, /container 'OU=Staff,DC=corp,DC=example' .* does not exist.*nothing was created/],
  ['Windows parent missing', new NoSuchObjectError("0000208D: NameErr: DSID-0310028C, problem 2001 (NO_OBJECT), data 0, best match of:\n\t'DC=corp,DC=example'"), create, 'no-such-object', false, /container 'OU=Staff/],
  ['object missing', new NoSuchObjectError('00002030: objectclass: Cannot delete CN=x, entry does not exist!'), modify, 'no-such-object', false, /'Ada Lovelace' does not exist in Active Directory.*nothing was changed on 'Ada Lovelace'/],
  ['member missing', new NoSuchObjectError("00000525: specified dn doesn't exist at ../../source4/dsdb/samdb/ldb_modules/extended_dn_store.c:160"), modify, 'no-such-object', false, /One of the objects named as a member does not exist/],
  ['non-leaf', new NotAllowedOnNonLeafError('00002015: subtree_delete: Unable to delete a non-leaf node (it has 4 children)!'), { action: 'delete', target: "'Staff'" }, 'not-allowed-on-non-leaf', false, /'Staff' still contains other objects.*nothing was deleted/],
  ['raw unicodePwd', new UnwillingToPerformError("00002035: setup_io: it's not allowed to set the NT hash password directly'"), modify, 'unwilling-to-perform', false, /fault in Mailroom/],
  ['single-valued', new TypeOrValueExistsError('0000200D: SINGLE-VALUE attribute mail on CN=x specified more than once'), modify, 'value-exists', false, /'mail' holds one value/],
  ['rights', new InsufficientAccessError('00000005: SecErr: DSID-03152857, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0'), create, 'insufficient-rights', false, /not allowed to create the user 'Ada Lovelace'.*delegate/],
  ['busy', new BusyError(), modify, 'busy', true, /too busy.*nothing was changed on 'Ada Lovelace'.*try again/],
  ['unavailable', new UnavailableError(), modify, 'unavailable', true, /unavailable/],
  ['refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:636'), { code: 'ECONNREFUSED' }), connect, 'unavailable', true, /could not reach Active Directory at ldaps:\/\/dc1.corp.example \(ECONNREFUSED\); nothing was changed/],
  ['connect timeout', new Error('Connection timeout'), connect, 'timeout', true, /did not accept a connection within 5 s/],
  ['certificate', Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), connect, 'tls', false, /could not verify the TLS certificate/],
  ['lost during a write', new Error('Connection closed before message response was received. Message type: AddRequest (0x68)'), create, 'connection-lost', true, /broke.*not known whether the user 'Ada Lovelace' \(ada\) was created/],
  ['op timeout during a write', new Error('ModifyRequest: Operation timed out'), { ...modify, timeoutMs: 15000 }, 'timeout', true, /within 15 s.*not known whether the change/],
];

describe('directory: error mapping', function () {
  for (const [what, err, ctx, kind, transient, message] of cases) {
    it(`${what} → ${kind}${transient ? ' (transient)' : ''}`, function () {
      const mapped = toDirectoryError(err, ctx);
      assert.equal(mapped.kind, kind);
      assert.equal(mapped.transient, transient);
      assert.match(mapped.message, message);
      assert.equal(mapped.cause, err);
      if (typeof (err as { code?: unknown }).code === 'number') assert.equal(mapped.code, (err as { code: number }).code);
      assert.doesNotMatch(mapped.message, /Code: 0x/);
    });
  }

  it('says the outcome is unknown only when a write may have happened', function () {
    const lost = new Error('Connection closed before message response was received. Message type: ModifyRequest (0x66)');
    assert.equal(toDirectoryError(lost, modify).outcome, 'unknown');
    assert.equal(toDirectoryError(lost, { action: 'read' }).outcome, 'unchanged');
    assert.equal(toDirectoryError(new BusyError(), modify).outcome, 'unchanged');
  });
});
