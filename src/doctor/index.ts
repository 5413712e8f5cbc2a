/**
 * The doctor: every check of a configured tenant, in the order an admin fixes things (store, directory, cloud,
 * app package). Built from the same adapters Mailroom runs on; the CLI and the chat command only format.
 */
import type { MailroomConfig } from '../config/config';
import type { Store } from '../store';
import { appPackageCheck } from './app-package';
import { cloudChecks } from './cloud';
import { directoryChecks, directoryDoctorDeps } from './directory';
import { fail, runChecks, type Check, type DoctorReport } from './report';
import { storeCheck } from './store';

export { formatReport, type CheckLine, type DoctorReport } from './report';

export interface DoctorDeps {
  readonly config: MailroomConfig;
  readonly store: Pick<Store, 'engine' | 'ping'>;
  /** The process environment (for the app package's values). */
  readonly processEnv: NodeJS.ProcessEnv;
}

function notConfigured(area: string, what: string): Check {
  return { area, name: 'configured', run: () => Promise.resolve([fail(area, 'configured', `${what} is not configured.`, `Set ${what === 'The directory' ? 'LDAP_URL, LDAP_BASE_DN, LDAP_BIND_DN and LDAP_PASSWORD' : 'CLIENT_ID and CLIENT_CERTIFICATE_PATH (or CLIENT_SECRET)'}; see the README's "Connect a real tenant".`)]) };
}

export function doctorChecks(deps: DoctorDeps): Check[] {
  const { config } = deps;
  const directory = directoryDoctorDeps(config);
  return [
    storeCheck(deps.store),
    ...(directory ? directoryChecks(directory) : [notConfigured('Active Directory', 'The directory')]),
    ...(config.cloud ? cloudChecks({ cloud: config.cloud, profile: config.profile, extraCaFile: config.extraCaFile, teamsReach: config.approval.teamsAppCatalogId !== undefined }) : [notConfigured('Microsoft Graph', 'The cloud app')]),
    appPackageCheck(config.rootDir, config.envName, deps.processEnv),
  ];
}

export function runDoctor(deps: DoctorDeps): Promise<DoctorReport> {
  return runChecks(doctorChecks(deps));
}
