// The canonical binary encoding of stigmer transactions and block headers,
// byte for byte as the Rust ledger writes it (crates/ledger/src/codec.rs,
// tx.rs, block.rs; docs/design.md has the tables), so that the browser can
// sign transactions and recompute the hashes the node shows.
//
// Operations are given in the node's JSON form (`OperationJson` in
// crates/node/src/json.rs): same `type` tags, same field names, same
// defaults for omitted fields, and unknown fields are refused as the node
// refuses them. Amounts are exact decimal strings ("12.5"); they become the
// 18-decimal fixed-point u128 through BigInt, never through a float.
//
// An encoding is only produced if the node would decode it: ids, string
// lengths, counts and orderings are checked against the same limits the
// Rust decoder applies, so a mistake is reported here, by field, rather than
// as a refused submission.
//
// crates/node/tests/it/ui_codec.rs and test/codec.test.mjs check this file
// against the Rust encoder on the committed test/fixtures.json.

import { blake3 } from '../vendor/noble-hashes/blake3.js';

export const TX_VERSION = 1;
export const BLOCK_VERSION = 1;
export const TX_BYTES_MAX = 64 * 1024;
export const CHAIN_ID_BYTES_MAX = 64;
export const TX_SIGNING_DOMAIN = utf8('stigmer/transaction/v1\0');
export const TX_ROOT_DOMAIN = utf8('stigmer/tx-root/v1\0');

// crates/protocol/src/limits.rs
export const LIMITS = Object.freeze({
  agentIdBytes: 64,
  dcIdBytes: 32,
  contributionIdBytes: 64,
  typeNameBytes: 32,
  dcNameBytes: 80,
  tokenSymbolBytes: 12,
  titleBytes: 200,
  contributionTypes: 32,
  evaluationSetLength: 16,
  founders: 1000,
});

export const AMOUNT_DECIMALS = 18;
export const AMOUNT_SCALE = 10n ** 18n;
const U128_MAX = (1n << 128n) - 1n;
const U64_MAX = (1n << 64n) - 1n;
const DC_AGENT_PREFIX = 'dc:';

// What the node fills in when a create_dc omits them: `DcParams::default()`
// and `ContributionType::default()` in their JSON form. The fixture carries
// Rust's own values, and the tests compare.
export const DEFAULT_PARAMS = Object.freeze({
  rules: 'backfeed',
  beta: '0.5',
  referral_fraction: '0.2',
  reward_evaluators_with_tokens: false,
  initial_reputation: '0',
  initial_tokens: '0',
});

export const DEFAULT_TYPE = Object.freeze({
  fee: '1',
  stake: '0.02',
  distribution_stake: '0.08',
  reward_threshold: '0.5',
  token_reward_factor: '50',
  reputation_reward_factor: '5',
  evaluation_set: Object.freeze(['0', '1']),
  evaluator_token_fund: '10',
  thanks_only: false,
});

const RULE_SETS = Object.freeze({ 'backfeed-classic': 0, backfeed: 1 });
const ASSETS = Object.freeze({ tokens: 0, reputation: 1 });

/** A value that cannot be encoded; `field` names it as the node would. */
export class EncodingError extends Error {
  constructor(field, reason) {
    super(`${field}: ${reason}`);
    this.name = 'EncodingError';
    this.field = field;
    this.reason = reason;
  }
}

// ---------------------------------------------------------------- bytes

function utf8(text) {
  return new TextEncoder().encode(text);
}

/** Lower-case hex of bytes, as the node writes hashes, keys and signatures. */
export function hex(bytes) {
  let text = '';
  for (const byte of bytes) text += byte.toString(16).padStart(2, '0');
  return text;
}

/**
 * Bytes from hex (either case). With `length`, exactly that many bytes.
 * Throws on anything else rather than guessing.
 */
export function unhex(text, length) {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new Error(`expected hex digits, got ${describe(text)}`);
  }
  if (length !== undefined && text.length !== 2 * length) {
    throw new Error(`expected ${2 * length} hex digits, got ${text.length}`);
  }
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  }
  return bytes;
}

function concat(chunks) {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

function describe(value) {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (value === undefined) return 'nothing';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function hexOfBytes(bytes, length, field) {
  if (bytes instanceof Uint8Array) {
    if (bytes.length !== length) throw new EncodingError(field, `expected ${length} bytes, got ${bytes.length}`);
    return bytes;
  }
  try {
    return unhex(bytes, length);
  } catch (error) {
    throw new EncodingError(field, error.message);
  }
}

/** Little-endian, fixed-width writer mirroring the Rust `Encoder`. */
class Writer {
  constructor() {
    this.chunks = [];
  }

  finish() {
    return concat(this.chunks);
  }

  raw(bytes) {
    this.chunks.push(bytes);
  }

  u8(value) {
    this.chunks.push(Uint8Array.of(value));
  }

  u32(value) {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value, true);
    this.chunks.push(bytes);
  }

  u64(value) {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, value, true);
    this.chunks.push(bytes);
  }

  /** A `Fixed`: its raw u128, low half first. */
  u128(value) {
    const bytes = new Uint8Array(16);
    const view = new DataView(bytes.buffer);
    view.setBigUint64(0, value & U64_MAX, true);
    view.setBigUint64(8, value >> 64n, true);
    this.chunks.push(bytes);
  }

  bool(value) {
    this.u8(value ? 1 : 0);
  }

  /** A string already checked and turned into UTF-8. */
  str(bytes) {
    this.u32(bytes.length);
    this.raw(bytes);
  }
}

// ---------------------------------------------------------------- numbers

/**
 * An exact decimal amount ("12.5", "0.000000000000000001") as the raw u128
 * of `Fixed` (units of 10^-18). Accepts what Rust's `Fixed::from_str`
 * accepts: digits, optionally a '.' and 1 to 18 digits; no sign, exponent or
 * white space. A non-negative safe integer number is accepted too; other
 * numbers are refused, since a float is not the decimal the person typed.
 */
export function parseAmount(value, field = 'amount') {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return BigInt(value) * AMOUNT_SCALE;
    if (value < 0) throw new EncodingError(field, `${value} is negative; amounts are never negative`);
    throw new EncodingError(
      field,
      `${value} is a floating-point number; give amounts as decimal strings ("12.5") so that they stay exact`,
    );
  }
  if (typeof value !== 'string') {
    throw new EncodingError(field, `expected a decimal string such as "12.5", got ${describe(value)}`);
  }
  if (value === '') throw new EncodingError(field, 'the amount is empty');
  if (value.startsWith('-')) throw new EncodingError(field, `${describe(value)} is negative; amounts are never negative`);
  const match = /^([0-9]+)(?:\.([0-9]+))?$/.exec(value);
  if (!match) {
    throw new EncodingError(
      field,
      `${describe(value)} is not a decimal amount: use digits with an optional '.' and decimals, such as "12.5" (no sign, exponent, spaces or separators)`,
    );
  }
  const [, integerDigits, decimalDigits = ''] = match;
  if (decimalDigits.length > AMOUNT_DECIMALS) {
    throw new EncodingError(
      field,
      `${describe(value)} has ${decimalDigits.length} decimals; at most ${AMOUNT_DECIMALS} are allowed`,
    );
  }
  const raw = BigInt(integerDigits) * AMOUNT_SCALE + BigInt(decimalDigits.padEnd(AMOUNT_DECIMALS, '0'));
  if (raw > U128_MAX) {
    throw new EncodingError(field, `${describe(value)} is too large; the largest amount is ${formatAmount(U128_MAX)}`);
  }
  return raw;
}

/** The shortest exact spelling of a raw amount, as the node writes it ("12.5"). */
export function formatAmount(raw) {
  if (typeof raw !== 'bigint' || raw < 0n || raw > U128_MAX) {
    throw new Error(`expected a raw amount (a BigInt from 0 to 2^128-1), got ${describe(raw)}`);
  }
  const integer = raw / AMOUNT_SCALE;
  const decimals = (raw % AMOUNT_SCALE).toString().padStart(AMOUNT_DECIMALS, '0').replace(/0+$/, '');
  return decimals ? `${integer}.${decimals}` : `${integer}`;
}

function u64Of(value, field) {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new EncodingError(field, `expected a non-negative integer, got ${value} (use a BigInt past 2^53)`);
    }
    return BigInt(value);
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > U64_MAX) throw new EncodingError(field, `${value} is outside 0..2^64-1`);
    return value;
  }
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) return u64Of(BigInt(value), field);
  throw new EncodingError(field, `expected a non-negative integer, got ${describe(value)}`);
}

// ---------------------------------------------------------------- strings and ids

/** UTF-8 of a string field, checked against its byte limit. */
function text(value, field, bytesMax) {
  if (typeof value !== 'string') throw new EncodingError(field, `expected a string, got ${describe(value)}`);
  // Rust strings cannot hold a lone surrogate and TextEncoder would silently
  // turn one into U+FFFD: refuse rather than sign something else.
  if (/\p{Cs}/u.test(value)) throw new EncodingError(field, 'it contains a lone surrogate (not valid Unicode)');
  const bytes = utf8(value);
  if (bytes.length > bytesMax) {
    throw new EncodingError(field, `it is ${bytes.length} bytes long, the maximum is ${bytesMax}`);
  }
  return bytes;
}

/**
 * Control characters and bidirectional overrides and isolates, refused in
 * every text field (`has_forbidden_char` in crates/protocol/src/ids.rs).
 */
const FORBIDDEN_CHAR = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;

/** Text people read (a title, a name), checked as the ledger's codec does. */
function humanText(value, field, bytesMax) {
  const bytes = text(value, field, bytesMax);
  if (FORBIDDEN_CHAR.test(value)) {
    throw new EncodingError(field, 'it contains a control or bidirectional-override character');
  }
  return bytes;
}

/** An id, checked as `check_text` in crates/protocol/src/ids.rs checks it. */
function id(value, field, bytesMax) {
  const bytes = text(value, field, bytesMax);
  if (bytes.length === 0) throw new EncodingError(field, 'it is empty');
  if (FORBIDDEN_CHAR.test(value)) {
    throw new EncodingError(field, 'it contains a control or bidirectional-override character');
  }
  if (/^\p{White_Space}|\p{White_Space}$/u.test(value)) {
    throw new EncodingError(field, 'it starts or ends with white space');
  }
  return bytes;
}

function dcId(value, field) {
  const bytes = id(value, field, LIMITS.dcIdBytes);
  if (!/^[a-z0-9_-]+$/.test(value)) {
    throw new EncodingError(field, "use lower-case letters, digits, '-' and '_' only");
  }
  return bytes;
}

/**
 * An account a transaction names, as `parse_account` in
 * crates/ledger/src/codec.rs reads it: an agent id that is an ed25519 key in
 * its one spelling (64 lower-case hex digits), or a DC's account `dc:<id>`.
 * Anything else is an account nobody holds the key of.
 */
function agentId(value, field) {
  if (typeof value === 'string' && value.startsWith(DC_AGENT_PREFIX)) {
    dcId(value.slice(DC_AGENT_PREFIX.length), field);
    return utf8(value);
  }
  const bytes = id(value, field, LIMITS.agentIdBytes);
  if (!/^[0-9a-f]{64}$/.test(value)) {
    throw new EncodingError(
      field,
      'it is not an account anyone holds the key of: use an agent id (an ed25519 public key, ' +
        '64 lower-case hex digits) or a DC account dc:<id>',
    );
  }
  return bytes;
}

const contributionId = (value, field) => id(value, field, LIMITS.contributionIdBytes);
const typeName = (value, field) => id(value, field, LIMITS.typeNameBytes);

function bool(value, field) {
  if (typeof value !== 'boolean') throw new EncodingError(field, `expected true or false, got ${describe(value)}`);
  return value;
}

function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------- operations

// The fields each JSON form allows, as `deny_unknown_fields` does in Rust.
const OPERATION_FIELDS = {
  create_dc: ['id', 'name', 'token_symbol', 'params', 'types', 'founders'],
  join: ['dc', 'referrer'],
  leave: ['dc'],
  contribute: ['dc', 'id', 'contribution_type', 'title'],
  evaluate: ['dc', 'contribution', 'value'],
  thank: ['dc', 'contribution'],
  transfer: ['dc', 'to', 'amount', 'asset'],
  as_dc: ['dc', 'operation'],
};
const FOUNDER_FIELDS = ['agent', 'reputation', 'tokens', 'referrer'];

function object(value, field) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EncodingError(field, `expected an object, got ${describe(value)}`);
  }
  return value;
}

function onlyFields(value, allowed, field) {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new EncodingError(field, `unknown field ${describe(key)}; expected one of ${allowed.join(', ')}`);
    }
  }
}

/** A field the JSON form may omit: `undefined` takes the default. */
function orDefault(value, fallback) {
  return value === undefined ? fallback : value;
}

/** An `Option<String>` agent: absent or null is none. */
function optionalAgent(writer, value, field) {
  if (value === undefined || value === null) {
    writer.u8(0);
  } else {
    writer.u8(1);
    writer.str(agentId(value, field));
  }
}

function array(value, field, max) {
  if (!Array.isArray(value)) throw new EncodingError(field, `expected an array, got ${describe(value)}`);
  if (value.length > max) throw new EncodingError(field, `${value.length} items exceed the maximum of ${max}`);
  return value;
}

function writeOperation(writer, operation, field, mayNest) {
  object(operation, field);
  const type = operation.type;
  const allowed = Object.hasOwn(OPERATION_FIELDS, type) ? OPERATION_FIELDS[type] : undefined;
  if (!allowed) {
    throw new EncodingError(
      `${field}.type`,
      `unknown operation type ${describe(type)}; expected one of ${Object.keys(OPERATION_FIELDS).join(', ')}`,
    );
  }
  onlyFields(operation, ['type', ...allowed], field);
  const at = (name) => `${field}.${name}`;
  switch (type) {
    case 'create_dc':
      writer.u8(0);
      writeCreateDc(writer, operation, field);
      break;
    case 'join':
      writer.u8(1);
      writer.str(dcId(operation.dc, at('dc')));
      optionalAgent(writer, operation.referrer, at('referrer'));
      break;
    case 'leave':
      writer.u8(2);
      writer.str(dcId(operation.dc, at('dc')));
      break;
    case 'contribute':
      writer.u8(3);
      writer.str(dcId(operation.dc, at('dc')));
      writer.str(contributionId(operation.id, at('id')));
      writer.str(typeName(operation.contribution_type, at('contribution_type')));
      writer.str(humanText(orDefault(operation.title, ''), at('title'), LIMITS.titleBytes));
      break;
    case 'evaluate':
      writer.u8(4);
      writer.str(dcId(operation.dc, at('dc')));
      writer.str(contributionId(operation.contribution, at('contribution')));
      writer.u128(parseAmount(operation.value, at('value')));
      break;
    case 'thank':
      writer.u8(5);
      writer.str(dcId(operation.dc, at('dc')));
      writer.str(contributionId(operation.contribution, at('contribution')));
      break;
    case 'transfer': {
      writer.u8(6);
      writer.str(dcId(operation.dc, at('dc')));
      writer.str(agentId(operation.to, at('to')));
      writer.u128(parseAmount(operation.amount, at('amount')));
      const asset = orDefault(operation.asset, 'tokens');
      if (!Object.hasOwn(ASSETS, asset)) {
        throw new EncodingError(at('asset'), `expected "tokens" or "reputation", got ${describe(asset)}`);
      }
      writer.u8(ASSETS[asset]);
      break;
    }
    case 'as_dc':
      // The node decodes one level only: a DC acting for a DC acting for...
      if (!mayNest) throw new EncodingError(field, 'an as_dc operation cannot wrap another as_dc');
      writer.u8(7);
      writer.str(dcId(operation.dc, at('dc')));
      writeOperation(writer, operation.operation, at('operation'), false);
      break;
  }
}

function writeCreateDc(writer, create, field) {
  const at = (name) => `${field}.${name}`;
  writer.str(dcId(create.id, at('id')));
  writer.str(humanText(create.name, at('name'), LIMITS.dcNameBytes));
  writer.str(humanText(create.token_symbol, at('token_symbol'), LIMITS.tokenSymbolBytes));

  const params = object(orDefault(create.params, {}), at('params'));
  onlyFields(params, Object.keys(DEFAULT_PARAMS), at('params'));
  const param = (name) => orDefault(params[name], DEFAULT_PARAMS[name]);
  const rules = param('rules');
  if (!Object.hasOwn(RULE_SETS, rules)) {
    throw new EncodingError(at('params.rules'), `expected "backfeed" or "backfeed-classic", got ${describe(rules)}`);
  }
  writer.u8(RULE_SETS[rules]);
  writer.u128(parseAmount(param('beta'), at('params.beta')));
  writer.u128(parseAmount(param('referral_fraction'), at('params.referral_fraction')));
  writer.bool(bool(param('reward_evaluators_with_tokens'), at('params.reward_evaluators_with_tokens')));
  writer.u128(parseAmount(param('initial_reputation'), at('params.initial_reputation')));
  writer.u128(parseAmount(param('initial_tokens'), at('params.initial_tokens')));

  // Sorted by UTF-8 bytes as Rust's BTreeMap<TypeName, _> is: a JS object
  // keeps insertion order, except that integer-like keys ("10", "9") come
  // first in numeric order, so its order cannot be trusted.
  const types = object(create.types, at('types'));
  const names = Object.keys(types);
  if (names.length > LIMITS.contributionTypes) {
    throw new EncodingError(at('types'), `${names.length} types exceed the maximum of ${LIMITS.contributionTypes}`);
  }
  const sorted = names
    .map((name) => ({ name, bytes: typeName(name, at(`types.${name}`)) }))
    .sort((a, b) => compareBytes(a.bytes, b.bytes));
  writer.u32(sorted.length);
  for (const { name, bytes } of sorted) {
    const typeField = at(`types.${name}`);
    const kind = object(types[name], typeField);
    onlyFields(kind, Object.keys(DEFAULT_TYPE), typeField);
    const value = (key) => orDefault(kind[key], DEFAULT_TYPE[key]);
    const amount = (key) => parseAmount(value(key), `${typeField}.${key}`);
    writer.str(bytes);
    writer.u128(amount('fee'));
    writer.u128(amount('stake'));
    writer.u128(amount('distribution_stake'));
    writer.u128(amount('reward_threshold'));
    writer.u128(amount('token_reward_factor'));
    writer.u128(amount('reputation_reward_factor'));
    const setField = `${typeField}.evaluation_set`;
    const set = array(value('evaluation_set'), setField, LIMITS.evaluationSetLength).map((item, index) =>
      parseAmount(item, `${setField}[${index}]`),
    );
    for (let i = 1; i < set.length; i++) {
      if (set[i - 1] >= set[i]) throw new EncodingError(setField, 'values must be strictly increasing');
    }
    writer.u32(set.length);
    for (const item of set) writer.u128(item);
    writer.u128(amount('evaluator_token_fund'));
    writer.bool(bool(value('thanks_only'), `${typeField}.thanks_only`));
  }

  const founders = array(orDefault(create.founders, []), at('founders'), LIMITS.founders);
  writer.u32(founders.length);
  founders.forEach((founder, index) => {
    const founderField = at(`founders[${index}]`);
    object(founder, founderField);
    onlyFields(founder, FOUNDER_FIELDS, founderField);
    writer.str(agentId(founder.agent, `${founderField}.agent`));
    writer.u128(parseAmount(founder.reputation, `${founderField}.reputation`));
    writer.u128(parseAmount(founder.tokens, `${founderField}.tokens`));
    optionalAgent(writer, founder.referrer, `${founderField}.referrer`);
  });
}

/** An operation on its own, as Rust's `codec::encode_operation`. */
export function encodeOperation(operation) {
  const writer = new Writer();
  writeOperation(writer, operation, 'operation', true);
  return writer.finish();
}

// ---------------------------------------------------------------- transactions

function writeTransaction(writer, { chainId, signer, nonce, operation }) {
  writer.u8(TX_VERSION);
  writer.str(text(chainId, 'chain_id', CHAIN_ID_BYTES_MAX));
  writer.raw(hexOfBytes(signer, 32, 'signer'));
  writer.u64(u64Of(nonce, 'nonce'));
  writeOperation(writer, operation, 'operation', true);
}

/**
 * The unsigned transaction: version, chain id, signer (64 hex digits or 32
 * bytes), nonce (a number or a BigInt), operation (JSON form).
 */
export function encodeTransaction(tx) {
  const writer = new Writer();
  writeTransaction(writer, tx);
  return writer.finish();
}

/** What the signer signs: the domain tag, then the unsigned transaction. */
export function signingBytes(tx) {
  return concat([TX_SIGNING_DOMAIN, encodeTransaction(tx)]);
}

/** The signed transaction, as the node decodes it (`{"encoded": hex(...)}`). */
export function encodeSigned(tx, signature) {
  const bytes = concat([encodeTransaction(tx), hexOfBytes(signature, 64, 'signature')]);
  if (bytes.length > TX_BYTES_MAX) {
    throw new EncodingError('transaction', `${bytes.length} bytes exceed the maximum of ${TX_BYTES_MAX}`);
  }
  return bytes;
}

/**
 * The signed transaction from its JSON form as the API returns it
 * (`{chain_id, signer, nonce, operation, signature}`): the JSON form is
 * lossless, so this gives back the bytes the node hashed.
 */
export function encodeTransactionJson(json) {
  object(json, 'transaction');
  onlyFields(json, ['chain_id', 'signer', 'nonce', 'operation', 'signature'], 'transaction');
  return encodeSigned(
    { chainId: json.chain_id, signer: json.signer, nonce: json.nonce, operation: json.operation },
    json.signature,
  );
}

// ---------------------------------------------------------------- hashes

/** A transaction's id: blake3 of its signed encoding, hex. */
export function txHash(encodedSigned) {
  return hex(blake3(encodedSigned));
}

/** The transaction root of a block: `tx_root` in crates/ledger/src/block.rs. */
export function txRoot(encodedSignedTxs) {
  const hasher = blake3.create();
  hasher.update(TX_ROOT_DOMAIN);
  const count = new Uint8Array(8);
  new DataView(count.buffer).setBigUint64(0, BigInt(encodedSignedTxs.length), true);
  hasher.update(count);
  for (const encoded of encodedSignedTxs) hasher.update(blake3(encoded));
  return hex(hasher.digest());
}

/** A block header as the API returns it (`height`, `parent`, `timestamp_ms`, `tx_root`, `state_root`; other fields are ignored). */
export function encodeBlockHeader(header) {
  object(header, 'header');
  const writer = new Writer();
  writer.u8(BLOCK_VERSION);
  writer.u64(u64Of(header.height, 'header.height'));
  writer.raw(hexOfBytes(header.parent, 32, 'header.parent'));
  writer.u64(u64Of(header.timestamp_ms, 'header.timestamp_ms'));
  writer.raw(hexOfBytes(header.tx_root, 32, 'header.tx_root'));
  writer.raw(hexOfBytes(header.state_root, 32, 'header.state_root'));
  return writer.finish();
}

/** A block's id: blake3 of its header, hex. */
export function blockHeaderHash(header) {
  return hex(blake3(encodeBlockHeader(header)));
}

/**
 * Recomputes what a block view of `GET /api/v1/blocks/{height}` claims: its
 * hash, its transaction root and each transaction's hash, from the header
 * fields and the transactions' JSON forms.
 */
export function checkBlockView(view) {
  object(view, 'block');
  const encoded = array(view.transactions ?? [], 'block.transactions', Infinity).map((entry) =>
    encodeTransactionJson(entry.transaction),
  );
  const hash = blockHeaderHash(view);
  const root = txRoot(encoded);
  const txHashes = encoded.map(txHash);
  return {
    hash,
    txRoot: root,
    txHashes,
    ok:
      hash === view.hash &&
      root === view.tx_root &&
      txHashes.every((txHashHex, index) => txHashHex === view.transactions[index].hash),
  };
}
