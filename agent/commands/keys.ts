// Ed25519 keys with node:crypto only. A public key in the config is the raw 32-byte key in base64
// (what libsodium, PyNaCl, Go's crypto/ed25519 and BouncyCastle produce); a private key file is
// PKCS#8 PEM (what `openssl genpkey -algorithm ed25519` and `wardgate keygen` write).
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';

const RAW_B64 = /^[A-Za-z0-9+/]{43}=$/;

/** The config's `publicKey` → a KeyObject; throws with what is wrong. */
export function publicKeyFromBase64(b64: string): KeyObject {
  if (!RAW_B64.test(b64)) throw new Error('is not a base64 raw Ed25519 public key (32 bytes, 44 characters)');
  const x = Buffer.from(b64, 'base64').toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}

export function publicKeyToBase64(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' }) as { x?: string };
  return Buffer.from(jwk.x ?? '', 'base64url').toString('base64');
}

export function privateKeyFromPem(pem: string | Buffer): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`is a ${key.asymmetricKeyType} key, not Ed25519`);
  return key;
}

export function newKeyPair(): { privatePem: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    publicKey: publicKeyToBase64(publicKey),
  };
}

export function signBytes(key: KeyObject, bytes: Buffer): string {
  return sign(null, bytes, key).toString('base64');
}

/** Never throws: a signature that does not decode is simply not valid. */
export function verifyBytes(key: KeyObject, bytes: Buffer, signatureB64: string): boolean {
  try {
    const sig = Buffer.from(signatureB64, 'base64');
    return sig.length === 64 && verify(null, bytes, key, sig);
  } catch {
    return false; // the caller reports bad-signature; the reason is the whole story
  }
}
