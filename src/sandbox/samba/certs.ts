import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec';
import { CERTIFICATES, DC_FQDN } from './recipe';

/**
 * TLS files in Samba's default locations (`tls keyfile/certfile/cafile` default to `<private dir>/tls/…`),
 * so smb.conf needs no TLS options.
 */
export function tlsPaths(dcDir: string): {
  dir: string;
  caCert: string;
  caKey: string;
  key: string;
  cert: string;
  dhParams: string;
} {
  const dir = path.join(dcDir, 'private', 'tls');
  return {
    dir,
    dhParams: path.join(dir, 'dhparams.pem'),
    caCert: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca.key'),
    key: path.join(dir, 'key.pem'),
    cert: path.join(dir, 'cert.pem'),
  };
}

function curveArgs(): string[] {
  return ['-pkeyopt', `ec_paramgen_curve:${CERTIFICATES.curve}`];
}

function keyArgs(): string[] {
  return ['-newkey', CERTIFICATES.keyAlgorithm, ...curveArgs(), '-nodes'];
}

/** Create the sandbox CA, the server's private key and the DH parameters (once per template). */
export async function createCaAndServerKey(openssl: string, dcDir: string): Promise<void> {
  const tls = tlsPaths(dcDir);
  // Samba's own self-signed files (if any) must not survive next to ours.
  await rm(tls.dir, { recursive: true, force: true });
  await mkdir(tls.dir, { recursive: true });
  await run(openssl, [
    'req',
    '-x509',
    ...keyArgs(),
    '-keyout',
    tls.caKey,
    '-out',
    tls.caCert,
    '-days',
    String(CERTIFICATES.caDays),
    '-subj',
    `${CERTIFICATES.caSubject} ${randomBytes(4).toString('hex')}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run(openssl, ['genpkey', '-algorithm', CERTIFICATES.keyAlgorithm, ...curveArgs(), '-out', tls.key]);
  await run(openssl, ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', `group:${CERTIFICATES.dhGroup}`, '-out', tls.dhParams]);
  // Samba refuses a private key that others can read.
  await chmod(tls.key, 0o600);
  await chmod(tls.caKey, 0o600);
}

/**
 * Issue the server certificate for one DC, signed by the template's CA: SANs for its loopback address,
 * `localhost` and the DC's FQDN. One openssl call (~20 ms).
 */
export async function issueServerCertificate(openssl: string, dcDir: string, address: string): Promise<void> {
  const tls = tlsPaths(dcDir);
  const tmp = `${tls.cert}.${process.pid}.tmp`;
  await run(openssl, [
    'req',
    '-new',
    '-x509',
    '-key',
    tls.key,
    '-CA',
    tls.caCert,
    '-CAkey',
    tls.caKey,
    '-subj',
    `/CN=${DC_FQDN}`,
    '-days',
    String(CERTIFICATES.serverDays),
    '-set_serial',
    `0x${randomBytes(16).toString('hex').replace(/^[89a-f]/, '7')}`,
    '-addext',
    `subjectAltName=IP:${address},DNS:localhost,DNS:${DC_FQDN}`,
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    '-addext',
    'extendedKeyUsage=serverAuth',
    '-out',
    tmp,
  ]);
  await rename(tmp, tls.cert);
}

/** Write a secret file readable by the owner only. */
export async function writeSecret(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
}
