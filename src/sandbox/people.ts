/**
 * The sandbox tenant's people. Their roles are configured in env/.env.sandbox like any tenant's; the Agents
 * Playground configs act as them and `.sandbox/endpoints.json` lists them for scripts.
 */
export interface SandboxPerson {
  readonly key: string;
  readonly aadObjectId: string;
  readonly upn: string;
  readonly name: string;
  readonly givenName: string;
  readonly surname: string;
}

export const SANDBOX_TENANT_ID = 'c0ffee00-0000-4000-8000-000000000001';
export const SANDBOX_TENANT_DOMAIN = 'contoso-sandbox.onmicrosoft.com';
export const SANDBOX_MAIL_DOMAIN = 'contoso.example';

const person = (key: string, n: number, givenName: string, surname: string, login: string): SandboxPerson => ({
  key,
  aadObjectId: `c0ffee00-0000-4000-8000-0000000000${n.toString(16).padStart(2, '0')}`,
  upn: `${login}@${SANDBOX_MAIL_DOMAIN}`,
  name: `${givenName} ${surname}`,
  givenName,
  surname,
});

export const SANDBOX_PEOPLE = {
  requester: person('requester', 0xa1, 'Rita', 'Requester', 'rita'),
  approver: person('approver', 0xa2, 'Arnold', 'Approver', 'arnold'),
  admin: person('admin', 0xa3, 'Ada', 'Admin', 'ada'),
} as const;

/** Colleagues without a Mailroom role (the Playground needs five users besides the current one). */
export const SANDBOX_COLLEAGUES: readonly SandboxPerson[] = [
  person('megan', 0xb1, 'Megan', 'Bowen', 'meganb'),
  person('isaiah', 0xb2, 'Isaiah', 'Langer', 'isaiahl'),
  person('patti', 0xb3, 'Patti', 'Fernandez', 'pattif'),
];

export type SandboxRole = keyof typeof SANDBOX_PEOPLE;
