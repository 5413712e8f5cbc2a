/**
 * Errors the tenant raises. Each carries what the HTTP layer needs to answer exactly as the real
 * service would: Graph errors become OData error bodies, Exchange errors become InvokeCommand error
 * bodies with `error.details[].message = "<id>|<ExceptionType>|<text>"`.
 */

/** A Microsoft Graph error: HTTP status, OData error code and message. */
export class GraphError extends Error {
  override readonly name = 'GraphError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Graph's answer for a missing object (users, groups, contacts). */
export function graphNotFound(key: string): GraphError {
  return new GraphError(
    404,
    'Request_ResourceNotFound',
    `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

/**
 * Graph's answer for writing an AD-mastered property of a synced object (observed on PATCH /users for
 * synced users, and for membership changes of synced groups).
 */
export function graphSyncedObjectReadOnly(): GraphError {
  return new GraphError(
    400,
    'Request_BadRequest',
    'Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.',
  );
}

/** The kinds of Exchange cmdlet failure the simulator produces. */
export type ExoErrorKind =
  | 'NotFound'
  | 'Ambiguous'
  | 'WriteScope'
  | 'DualWrite'
  | 'ParameterBinding'
  | 'InvalidOperation'
  | 'ProxyAddressExists'
  | 'Argument'
  | 'GroupManager'
  | 'MemberExists'
  | 'NotMember';

const EXO_ERROR_SHAPE: Record<ExoErrorKind, { status: number; code: string; errorId: string; exceptionType: string }> = {
  // Ex6F9304 and the exception type are what Exchange Online returns for an unknown identity.
  NotFound: {
    status: 404,
    code: 'NotFound',
    errorId: 'Ex6F9304',
    exceptionType: 'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException',
  },
  Ambiguous: {
    status: 400,
    code: 'BadRequest',
    errorId: 'Ex2A8A6B',
    exceptionType: 'Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException',
  },
  WriteScope: { status: 400, code: 'BadRequest', errorId: 'Ex9C9D6F', exceptionType: 'System.InvalidOperationException' },
  DualWrite: {
    status: 400,
    code: 'BadRequest',
    errorId: 'ExC3F8A1',
    exceptionType: 'Microsoft.Exchange.Management.Tasks.DualWriteException',
  },
  ParameterBinding: {
    status: 400,
    code: 'BadRequest',
    errorId: 'Ex1F0E7B',
    exceptionType: 'System.Management.Automation.ParameterBindingException',
  },
  InvalidOperation: { status: 400, code: 'BadRequest', errorId: 'Ex4E4F3D', exceptionType: 'System.InvalidOperationException' },
  ProxyAddressExists: {
    status: 400,
    code: 'BadRequest',
    errorId: 'ExB485A0',
    exceptionType: 'Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException',
  },
  Argument: { status: 400, code: 'BadRequest', errorId: 'Ex7A2C11', exceptionType: 'System.ArgumentException' },
  // A group change by someone not in the group's ManagedBy, without -BypassSecurityGroupManagerCheck (the exception
  // type as a public script catches it; the text from Microsoft's support article on the error).
  GroupManager: {
    status: 400,
    code: 'BadRequest',
    errorId: 'Ex5B1E92',
    exceptionType: 'Microsoft.Exchange.Configuration.Tasks.OperationRequiresGroupManagerException',
  },
  MemberExists: { status: 400, code: 'BadRequest', errorId: 'Ex8D20A4', exceptionType: 'Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException' },
  NotMember: { status: 400, code: 'BadRequest', errorId: 'ExE61C3F', exceptionType: 'Microsoft.Exchange.Management.Tasks.MemberNotFoundException' },
};

/** An Exchange Online cmdlet failure. */
export class ExoError extends Error {
  override readonly name = 'ExoError';
  readonly status: number;
  readonly code: string;
  readonly errorId: string;
  readonly exceptionType: string;

  constructor(
    readonly kind: ExoErrorKind,
    message: string,
  ) {
    super(message);
    const shape = EXO_ERROR_SHAPE[kind];
    this.status = shape.status;
    this.code = shape.code;
    this.errorId = shape.errorId;
    this.exceptionType = shape.exceptionType;
  }

  /** `"<id>|<ExceptionType>|<text>"`, the form Exchange uses in `error.details[].message`. */
  get detail(): string {
    return `${this.errorId}|${this.exceptionType}|${this.message}`;
  }
}
