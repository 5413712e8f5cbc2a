/**
 * Minimal JWT (JWS compact) signing and verification with node:crypto: RS256 for the tokens the
 * emulator issues, RS256/PS256 for client assertions that MSAL sends.
 */
import { constants, createHash, createPublicKey, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';

export type JwtHeader = Record<string, unknown> & { alg?: string; typ?: string; kid?: string; x5t?: string; 'x5t#S256'?: string };
export type JwtPayload = Record<string, unknown>;

export function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** Signs a JWT with RS256. */
export function signJwt(header: JwtHeader, payload: JwtPayload, privateKey: KeyObject | string): string {
  const h = base64url(JSON.stringify({ typ: 'JWT', ...header, alg: 'RS256' }));
  const p = base64url(JSON.stringify(payload));
  const sig = sign('sha256', Buffer.from(`${h}.${p}`), privateKey);
  return `${h}.${p}.${base64url(sig)}`;
}

export interface DecodedJwt {
  header: JwtHeader;
  payload: JwtPayload;
  signingInput: string;
  signature: Buffer;
}

/** Splits and parses a compact JWS without checking it. Returns null if it is not one. */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [h, p, s] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as unknown;
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as unknown;
    if (typeof header !== 'object' || header === null || typeof payload !== 'object' || payload === null) return null;
    return { header: header as JwtHeader, payload: payload as JwtPayload, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
  } catch {
    return null;
  }
}

/** Checks the signature of a decoded JWT (RS256 or PS256) against a public key. */
export function verifyJwtSignature(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  const data = Buffer.from(jwt.signingInput);
  switch (jwt.header.alg) {
    case 'RS256':
      return verify('sha256', data, publicKey, jwt.signature);
    case 'PS256':
      return verify(
        'sha256',
        data,
        { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
        jwt.signature,
      );
    default:
      return false;
  }
}

/** Thumbprints of a PEM certificate as they appear in `x5t` (SHA-1) and `x5t#S256` (SHA-256), base64url. */
export function certificateThumbprints(pem: string): { x5t: string; x5tS256: string; sha1Hex: string; publicKey: KeyObject } {
  const cert = new X509Certificate(pem);
  return {
    x5t: base64url(createHash('sha1').update(cert.raw).digest()),
    x5tS256: base64url(createHash('sha256').update(cert.raw).digest()),
    sha1Hex: createHash('sha1').update(cert.raw).digest('hex').toUpperCase(),
    publicKey: createPublicKey(cert.publicKey.export({ type: 'spki', format: 'pem' })),
  };
}
