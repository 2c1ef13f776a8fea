// This browser's keys and the transactions they sign. A key's seed is kept
// in this browser's local storage, under the person's control (they can see
// it to back it up, and remove it); it is never sent anywhere.

import * as api from './api.js';
import * as codec from './codec.js';
import * as keys from './keys.js';
import { t, SaidError } from './i18n.js';

const STORE = 'stigmer.keys';
const ACTIVE = 'stigmer.active';

/** [{name, seed, agent}] */
export function list() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORE) || '[]');
    return Array.isArray(stored) ? stored : [];
  } catch {
    return [];
  }
}

function save(all) {
  localStorage.setItem(STORE, JSON.stringify(all));
}

/** The key this browser signs with, or null. */
export function active() {
  const all = list();
  const name = localStorage.getItem(ACTIVE);
  return all.find((key) => key.name === name) || all[0] || null;
}

export function use(name) {
  localStorage.setItem(ACTIVE, name);
}

export function remove(name) {
  save(list().filter((key) => key.name !== name));
  if (localStorage.getItem(ACTIVE) === name) localStorage.removeItem(ACTIVE);
}

function checkName(name) {
  if (!name) throw new SaidError(t('keys.error.noName'));
  if (list().some((key) => key.name === name)) throw new SaidError(t('keys.error.taken', { name }));
}

export async function create(name) {
  checkName(name);
  if (!(await keys.ed25519Supported())) {
    throw new SaidError(t('keys.error.noEd25519'));
  }
  const key = await keys.generateKey();
  return store(name, await keys.exportSeed(key.privateKey), key.agent);
}

export async function importSeed(name, seed) {
  checkName(name);
  const key = await keys.importSeed(seed);
  return store(name, seed.trim().toLowerCase(), key.agent);
}

function store(name, seed, agent) {
  const entry = { name, seed, agent };
  save([...list(), entry]);
  use(name);
  return entry;
}

/**
 * Signs `operation` (JSON form) with the active key, sends it and waits for
 * finality. Returns the node's answer for the transaction.
 */
export async function submit(operation) {
  const entry = active();
  if (!entry) throw new SaidError(t('keys.error.none'));
  const key = await keys.importSeed(entry.seed, { extractable: false });
  const status = await api.get('/status');
  const { next_nonce: nonce } = await api.get(`/agents/${api.enc(key.agent)}/nonce`);
  const signed = await keys.signTransaction(key, { chainId: status.chain_id, nonce, operation });
  return api.post('/transactions?wait=true', { encoded: codec.hex(signed.encoded) });
}

/** Whether a block header's hash, recomputed here, is the one the node gave. */
export async function checkHeader(view) {
  try {
    return codec.blockHeaderHash(view) === view.hash;
  } catch {
    return false;
  }
}

/**
 * Checks a block in this browser: its hash from its header, its transaction
 * root and every transaction's hash from their JSON forms, each
 * transaction's encoding against the bytes the node stores, and every
 * signature. Returns [[ok, what was checked]].
 */
export async function checkBlock(view) {
  const results = [];
  let recomputed;
  try {
    recomputed = codec.checkBlockView(view);
  } catch (error) {
    return [[false, `${t('check.cannotEncode')} ${error.message}`]];
  }
  results.push([recomputed.hash === view.hash, t('check.blockHash', { hash: recomputed.hash })]);
  results.push([recomputed.txRoot === view.tx_root, t('check.txRoot', { count: view.transactions.length })]);
  const hashesOk = recomputed.txHashes.every((hash, index) => hash === view.transactions[index].hash);
  results.push([hashesOk, t('check.txHashes')]);
  const bytesOk = view.transactions.every((item) => {
    try {
      return !item.encoded || codec.hex(codec.encodeTransactionJson(item.transaction)) === item.encoded;
    } catch {
      return false;
    }
  });
  results.push([bytesOk, t('check.txBytes')]);
  let signaturesOk = true;
  for (const item of view.transactions) {
    const t = item.transaction;
    try {
      const bytes = codec.signingBytes({ chainId: t.chain_id, signer: t.signer, nonce: t.nonce, operation: t.operation });
      if (!(await keys.verify(t.signer, codec.unhex(t.signature, 64), bytes))) signaturesOk = false;
    } catch {
      signaturesOk = false;
    }
  }
  results.push([signaturesOk, t('check.signatures', { count: view.transactions.length })]);
  return results;
}
