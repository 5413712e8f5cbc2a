/**
 * The sandbox's on-premises Active Directory: a real Samba AD domain controller on a loopback address, all of
 * its state in one folder. Provisioned once into a cached template, then cloned and started per use in well
 * under a second.
 */
export { startDomainController, type DomainController, type StartOptions, type StartTimings } from './dc';
export { ensureSambaInstalled, SAMBA_INSTALL_COMMAND, SAMBA_PACKAGES, type SambaTools } from './install';
export { canConnect, listeningSockets, type ListeningSocket } from './net';
export { defaultCacheDir, defaultRunDir } from './paths';
export { isProcessAlive } from './process';
export { ADMIN_UPN, BASE_DN, DC_FQDN, DOMAIN, EXTRA_ATTRIBUTES, REALM } from './recipe';
export { ensureTemplate, type SambaTemplate, type TemplateInfo, type TemplateOptions } from './template';
