/**
 * TLS material for the emulator, made with the openssl CLI and cached in a state directory: a CA, a
 * server certificate for 127.0.0.1, ::1 and localhost signed by it, and the RSA key that signs the
 * access tokens. Also makes self-signed client certificates for app sign-in with a certificate.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const OPENSSL = process.platform === 'win32' ? 'openssl' : '/usr/bin/openssl';

export interface EmulatorTls {
  caFile: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** PEM (PKCS#8) of the key that signs access tokens. */
  tokenSigningKeyPem: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run(OPENSSL, args, { cwd });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0] ?? ''} failed: ${e.stderr ?? e.message}`);
  }
}

function stillValid(pem: string, minDaysLeft = 7): boolean {
  try {
    const cert = new X509Certificate(pem);
    return Date.parse(cert.validTo) - Date.now() > minDaysLeft * 86_400_000;
  } catch {
    return false;
  }
}

/**
 * Returns the emulator's CA, server certificate and token-signing key, creating what is missing or
 * expiring in `stateDir`.
 */
export async function ensureEmulatorTls(stateDir: string): Promise<EmulatorTls> {
  const dir = path.join(stateDir, 'tls');
  await mkdir(dir, { recursive: true });
  const f = (name: string): string => path.join(dir, name);
  const haveCa = existsSync(f('ca.pem')) && existsSync(f('ca.key')) && stillValid(await readFile(f('ca.pem'), 'utf8'), 30);
  if (!haveCa) {
    await openssl(
      [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
        '-keyout', 'ca.key', '-out', 'ca.pem',
        '-subj', '/CN=Mailroom Sandbox Cloud CA',
        '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    );
    await rm(f('server.pem'), { force: true });
  }
  const haveServer = existsSync(f('server.pem')) && existsSync(f('server.key')) && stillValid(await readFile(f('server.pem'), 'utf8'));
  if (!haveServer) {
    await writeFile(
      f('server.ext'),
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
        '',
      ].join('\n'),
    );
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
    await openssl(
      [
        'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
        '-set_serial', `0x${Date.now().toString(16)}`, '-days', '397', '-sha256',
        '-extfile', 'server.ext', '-out', 'server.pem',
      ],
      dir,
    );
    await rm(f('server.csr'), { force: true });
  }
  if (!existsSync(f('token-signing.key'))) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(f('token-signing.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  return {
    caFile: f('ca.pem'),
    caPem: await readFile(f('ca.pem'), 'utf8'),
    certPem: await readFile(f('server.pem'), 'utf8'),
    keyPem: await readFile(f('server.key'), 'utf8'),
    tokenSigningKeyPem: await readFile(f('token-signing.key'), 'utf8'),
  };
}

/**
 * Makes a self-signed certificate for an app registration in `dir`: returns the certificate PEM, the
 * key PEM, and `combinedFile`, a file with both (the form `ClientCertificateCredential` reads).
 */
export async function createClientCertificate(
  dir: string,
  name = 'mailroom-app',
): Promise<{ certificatePem: string; privateKeyPem: string; combinedFile: string }> {
  await mkdir(dir, { recursive: true });
  await openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '365', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${name}`],
    dir,
  );
  const certificatePem = await readFile(path.join(dir, `${name}.crt`), 'utf8');
  const privateKeyPem = await readFile(path.join(dir, `${name}.key`), 'utf8');
  const combinedFile = path.join(dir, `${name}.pem`);
  await writeFile(combinedFile, `${privateKeyPem}\n${certificatePem}`, { mode: 0o600 });
  return { certificatePem, privateKeyPem, combinedFile };
}
