// The pure request domain: kinds and their field schema, the one-line command, validation, the naming
// policy, the tenant profile and the approval policy. Imports nothing outside src/requests.
export * from './kinds';
export * from './command-line';
export * from './validate';
export * from './lookup';
export { nameKeys, namesTaken } from './claims';
export * from './naming';
export * from './tenant-profile';
export * from './approval-policy';
export { COUNTRY_CODES, countryName, isCountryCode } from './countries';
export { childDn, escapeRdnValue, ouDnProblem, parseDn } from './dn';
export { LIMITS, aliasProblem, samAccountNameProblem, smtpAddressProblem, upnProblem, identityProblem, isSmtpAddress } from './syntax';
export { nameToken, transliterate } from './transliterate';
export * from './when';
export * from './bulk';
