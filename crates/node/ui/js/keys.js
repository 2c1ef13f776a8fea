// Ed25519 keys through WebCrypto, so that a person's key signs in their own
// browser and never leaves it. Works wherever `crypto.subtle` knows Ed25519:
// Chromium, Firefox 129+, Safari 17+, Node.js 20+.
//
// A key is `{ privateKey, publicKey, agent }`: two CryptoKeys and the agent
// id, the hex of the raw 32-byte public key. The CLI keeps a key as the hex
// of its 32-byte seed followed by a newline; `importSeed` and `exportSeed`
// read and write that form, so a key moves between the CLI and the browser.

import { encodeSigned, hex, signingBytes, txHash, unhex } from './codec.js';

const ED25519 = Object.freeze({ name: 'Ed25519' });

// A PKCS#8 PrivateKeyInfo for Ed25519 (RFC 8410) is this fixed DER prefix
// followed by the 32-byte seed: WebCrypto imports and exports seeds only
// wrapped this way.
const PKCS8_SEED_PREFIX = unhex('302e020100300506032b657004220420');
const SEED_BYTES = 32;

function subtle() {
  const api = globalThis.crypto?.subtle;
  if (!api) {
    throw new Error('WebCrypto is not available here (crypto.subtle is missing; browsers offer it only on https or localhost)');
  }
  return api;
}

/** Whether this browser's WebCrypto can make Ed25519 keys. */
export async function ed25519Supported() {
  try {
    await subtle().generateKey(ED25519, false, ['sign', 'verify']);
    return true;
  } catch {
    return false;
  }
}

/** The agent id of a public key: the hex of its raw 32 bytes. */
export async function agentId(publicKey) {
  return hex(new Uint8Array(await subtle().exportKey('raw', publicKey)));
}

/**
 * A fresh key. Extractable by default, so that the person can export its
 * seed and keep it; pass `{ extractable: false }` for a key that can sign
 * only.
 */
export async function generateKey({ extractable = true } = {}) {
  const { privateKey, publicKey } = await subtle().generateKey(ED25519, extractable, ['sign', 'verify']);
  return { privateKey, publicKey, agent: await agentId(publicKey) };
}

/** A key from its seed: 64 hex digits, as the CLI's key files hold it (white space around it is ignored). */
export async function importSeed(seedHex, { extractable = true } = {}) {
  if (typeof seedHex !== 'string') throw new Error('a seed is 64 hex digits');
  let seed;
  try {
    seed = unhex(seedHex.trim(), SEED_BYTES);
  } catch (error) {
    throw new Error(`not a key seed: ${error.message}`);
  }
  const pkcs8 = new Uint8Array(PKCS8_SEED_PREFIX.length + SEED_BYTES);
  pkcs8.set(PKCS8_SEED_PREFIX);
  pkcs8.set(seed, PKCS8_SEED_PREFIX.length);
  // WebCrypto cannot derive a public key from a private one except through
  // a JWK export, whose `x` is the public key; that needs an extractable key.
  const extractableKey = await subtle().importKey('pkcs8', pkcs8, ED25519, true, ['sign']);
  const jwk = await subtle().exportKey('jwk', extractableKey);
  const publicRaw = base64UrlDecode(jwk.x);
  const publicKey = await subtle().importKey('raw', publicRaw, ED25519, true, ['verify']);
  const privateKey = extractable ? extractableKey : await subtle().importKey('pkcs8', pkcs8, ED25519, false, ['sign']);
  pkcs8.fill(0);
  seed.fill(0);
  return { privateKey, publicKey, agent: hex(publicRaw) };
}

/** The seed of an extractable private key, 64 hex digits (the CLI's key file form, without its newline). */
export async function exportSeed(privateKey) {
  const pkcs8 = new Uint8Array(await subtle().exportKey('pkcs8', privateKey));
  const prefixMatches =
    pkcs8.length === PKCS8_SEED_PREFIX.length + SEED_BYTES && PKCS8_SEED_PREFIX.every((byte, i) => pkcs8[i] === byte);
  if (!prefixMatches) throw new Error('unexpected PKCS#8 form for an Ed25519 key');
  const seed = hex(pkcs8.subarray(PKCS8_SEED_PREFIX.length));
  pkcs8.fill(0);
  return seed;
}

/** An Ed25519 signature over `bytes`: 64 bytes. Ed25519 is deterministic, so the CLI would sign the same. */
export async function sign(privateKey, bytes) {
  return new Uint8Array(await subtle().sign(ED25519, privateKey, bytes));
}

// The field prime 2^255 - 19, the group order, and the y of a point of
// order 8 (the other points of small order have y = 0, 1, -1 or -Y8).
const P = (1n << 255n) - 19n;
const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const Y8 = littleEndian(unhex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 32)) & ((1n << 255n) - 1n);

function littleEndian(bytes) {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}

/**
 * Whether a point encoding is of small order (any encoding, canonical or
 * not): such a public key is one anyone can sign for, such an `R` makes a
 * signature that proves nothing. Small-order points are exactly those with
 * y in {0, 1, -1, Y8, -Y8}.
 */
export function isSmallOrder(encoding) {
  const y = (littleEndian(encoding) & ((1n << 255n) - 1n)) % P;
  return y === 0n || y === 1n || y === P - 1n || y === Y8 || y === P - Y8;
}

/**
 * Whether `signature` is `publicKey`'s (a CryptoKey, or an agent id in hex)
 * over `bytes`. A weak (small-order) key, a small-order `R` or a
 * non-canonical `s` is refused before WebCrypto is asked, as the node
 * refuses them (crates/ledger/src/signature.rs); WebCrypto's equation accepts
 * a subset of what the node's does, so nothing it accepts is refused there.
 */
export async function verify(publicKey, signature, bytes) {
  if (signature.length !== 64) return false;
  if (isSmallOrder(signature.subarray(0, 32))) return false;
  if (littleEndian(signature.subarray(32, 64)) >= L) return false;
  if (typeof publicKey === 'string') {
    const raw = unhex(publicKey, 32);
    if (isSmallOrder(raw)) return false;
    publicKey = await subtle().importKey('raw', raw, ED25519, true, ['verify']);
  }
  return subtle().verify(ED25519, publicKey, signature, bytes);
}

/**
 * Signs a transaction for `key`'s account: `{ chainId, nonce, operation }`
 * with the operation in JSON form. Returns the signature, the signed
 * encoding (POST it as `{"encoded": hex(encoded)}`) and its hash.
 */
export async function signTransaction(key, { chainId, nonce, operation }) {
  const tx = { chainId, signer: key.agent, nonce, operation };
  const signature = await sign(key.privateKey, signingBytes(tx));
  const encoded = encodeSigned(tx, signature);
  return { signature, encoded, hash: txHash(encoded) };
}

function base64UrlDecode(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}
