/** The Teams app package: manifest template filling, offline schema validation, icon checks and the zip. */
export { AppPackageError, buildAppPackage, loadPackagingEnv } from './build';
export type { AppPackageErrorKind, BuildAppPackageOptions, BuiltAppPackage } from './build';
export { checkIcon, ICON_SIZES, type IconRole } from './icon-checks';
export { bundledManifestVersions, loadBundledSchema, teamsSchemaUrl, validateManifest } from './manifest-schema';
export type { ManifestValidation, SchemaProblem } from './manifest-schema';
export { describeValue, fillJsonPlaceholders, isSecretName, KNOWN_PLACEHOLDERS, manifestValues, PACKAGE_ONLY_PREFIX } from './placeholders';
export { createImage, decodePng, encodePng, readPngHeader, type RgbaImage } from './png';
