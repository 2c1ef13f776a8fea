// The browser's encoder and signer against the Rust ones, through the
// fixture crates/node/tests/it/ui_codec.rs writes. Run with
// `node --test crates/node/ui/test/` (Node.js 20.19 or later).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import {
  DEFAULT_PARAMS,
  DEFAULT_TYPE,
  EncodingError,
  blockHeaderHash,
  checkBlockView,
  encodeBlockHeader,
  encodeOperation,
  encodeSigned,
  encodeTransaction,
  encodeTransactionJson,
  formatAmount,
  hex,
  parseAmount,
  signingBytes,
  txHash,
  txRoot,
  unhex,
} from '../js/codec.js';
import { agentId, exportSeed, generateKey, importSeed, isSmallOrder, sign, signTransaction, verify } from '../js/keys.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures.json', import.meta.url), 'utf8'));

function txOf(entry) {
  return { chainId: entry.chain_id, signer: entry.signer, nonce: BigInt(entry.nonce), operation: entry.operation };
}

describe('amounts', () => {
  test('the JSON defaults are the Rust ones', () => {
    assert.deepEqual({ ...DEFAULT_PARAMS }, fixture.defaults.params);
    assert.deepEqual({ ...DEFAULT_TYPE, evaluation_set: [...DEFAULT_TYPE.evaluation_set] }, fixture.defaults.type);
  });

  for (const { text, raw } of fixture.amounts) {
    test(`${JSON.stringify(text)} is ${raw} units`, () => {
      assert.equal(parseAmount(text), BigInt(raw));
      assert.equal(parseAmount(formatAmount(BigInt(raw))), BigInt(raw));
    });
  }

  for (const text of fixture.bad_amounts) {
    test(`${JSON.stringify(text)} is refused, as Rust refuses it`, () => {
      assert.throws(() => parseAmount(text, 'value'), EncodingError);
    });
  }

  test('refusals say why', () => {
    assert.throws(() => parseAmount('-1', 'amount'), /amount: "-1" is negative/);
    assert.throws(() => parseAmount('1.0000000000000000001'), /has 19 decimals; at most 18/);
    assert.throws(() => parseAmount('340282366920938463463.374607431768211456'), /too large/);
    assert.throws(() => parseAmount('1e3'), /not a decimal amount/);
    assert.throws(() => parseAmount(0.1), /floating-point number; give amounts as decimal strings/);
    assert.throws(() => parseAmount(-3), /negative/);
    assert.throws(() => parseAmount(5n), /expected a decimal string/);
    assert.equal(parseAmount(7), 7n * 10n ** 18n);
  });

  test('formatAmount writes the shortest exact spelling', () => {
    assert.equal(formatAmount(12_500_000_000_000_000_000n), '12.5');
    assert.equal(formatAmount(0n), '0');
    assert.equal(formatAmount(1n), '0.000000000000000001');
  });

  test('a bad amount inside an operation names its field', () => {
    const tx = txOf(fixture.transactions.find((entry) => entry.name === 'create_dc'));
    const operation = structuredClone(tx.operation);
    operation.types.Zeta.evaluation_set[2] = '0.5.5';
    assert.throws(() => encodeTransaction({ ...tx, operation }), /operation\.types\.Zeta\.evaluation_set\[2\]: "0\.5\.5"/);
  });
});

describe('transactions', () => {
  for (const entry of fixture.transactions) {
    test(entry.name, async () => {
      const tx = txOf(entry);
      assert.equal(hex(encodeTransaction(tx)), entry.encoding);
      assert.equal(hex(signingBytes(tx)), entry.signing_bytes);

      const key = await importSeed(entry.seed);
      assert.equal(key.agent, entry.signer);
      const signature = await sign(key.privateKey, signingBytes(tx));
      assert.equal(hex(signature), entry.signature, 'ed25519 is deterministic: same seed, same signature');
      assert.ok(await verify(entry.signer, signature, signingBytes(tx)));

      const signed = encodeSigned(tx, signature);
      assert.equal(hex(signed), entry.signed);
      assert.equal(txHash(signed), entry.hash);
      assert.equal(txHash(unhex(entry.signed)), entry.hash);

      const viaKey = await signTransaction(key, { chainId: tx.chainId, nonce: tx.nonce, operation: tx.operation });
      assert.equal(hex(viaKey.encoded), entry.signed);
      assert.equal(viaKey.hash, entry.hash);
    });
  }

  test('the unsigned encoding is the signed one without its signature', () => {
    for (const entry of fixture.transactions) {
      assert.equal(entry.signed, entry.encoding + entry.signature);
      assert.ok(hex(encodeOperation(entry.operation)).length > 0);
    }
  });
});

describe('blocks', () => {
  for (const block of fixture.blocks) {
    test(`block ${block.height} (${block.n_transactions} transactions)`, () => {
      assert.equal(hex(encodeBlockHeader(block)), block.header_encoding);
      assert.equal(blockHeaderHash(block), block.hash);
      const encoded = block.encoded_transactions.map((text) => unhex(text));
      assert.equal(txRoot(encoded), block.tx_root);
      // The API gives transactions in JSON form only: they must re-encode
      // to the same bytes.
      const fromJson = block.transactions.map((entry) => encodeTransactionJson(entry.transaction));
      assert.deepEqual(fromJson.map(hex), block.encoded_transactions);
      const check = checkBlockView(block);
      assert.ok(check.ok);
      assert.equal(check.hash, block.hash);
      assert.equal(check.txRoot, block.tx_root);
    });
  }

  test('a tampered block view does not check', () => {
    const block = structuredClone(fixture.blocks[1]);
    block.transactions[0].transaction.nonce += 1;
    assert.equal(checkBlockView(block).ok, false);
    const header = { ...fixture.blocks[1], timestamp_ms: fixture.blocks[1].timestamp_ms + 1 };
    assert.notEqual(blockHeaderHash(header), fixture.blocks[1].hash);
  });
});

describe('refusals', () => {
  const base = txOf(fixture.transactions.find((entry) => entry.name === 'join'));
  const refuses = (operation, pattern) =>
    assert.throws(() => encodeTransaction({ ...base, operation }), (error) => {
      assert.ok(error instanceof EncodingError, error);
      assert.match(error.message, pattern);
      return true;
    });

  test('operations the node would refuse to decode', () => {
    refuses({ type: 'join', dc: 'Festival' }, /operation\.dc: use lower-case letters/);
    refuses({ type: 'join', dc: '' }, /operation\.dc: it is empty/);
    refuses({ type: 'join', dc: 'x'.repeat(33) }, /33 bytes long, the maximum is 32/);
    refuses({ type: 'join', dc: 'festival', referrer: 'dc:Other' }, /lower-case letters/);
    refuses({ type: 'transfer', dc: 'festival', to: 'Bo Smith', amount: '1' }, /operation\.to: it is not an account anyone holds the key of/);
    refuses({ type: 'transfer', dc: 'festival', to: 'AB'.repeat(32), amount: '1' }, /not an account anyone holds the key of/);
    refuses({ type: 'contribute', dc: 'festival', id: 'c', contribution_type: 'work', title: 'clear \u001b[2J' }, /control or bidirectional-override character/);
    refuses({ type: 'contribute', dc: 'festival', id: 'c', contribution_type: 'work', title: 'abc\u202edcba' }, /bidirectional-override/);
    refuses({ type: 'create_dc', id: 'x', name: 'X\tY', token_symbol: 'X', types: {} }, /operation\.name: it contains a control/);
    refuses({ type: 'join', dc: 'festival', referrer: ' padded' }, /white space/);
    refuses({ type: 'join', dc: 'festival', referer: 'typo' }, /unknown field "referer"/);
    refuses({ type: 'jump', dc: 'festival' }, /unknown operation type "jump"/);
    refuses({ type: 'toString', dc: 'festival' }, /unknown operation type/);
    refuses({ type: 'thank', dc: 'festival', contribution: 'a\u0007b' }, /control or bidirectional-override character/);
    refuses({ type: 'contribute', dc: 'festival', id: 'c', contribution_type: 'work', title: 'é'.repeat(101) }, /202 bytes long/);
    refuses({ type: 'contribute', dc: 'festival', id: 'c', contribution_type: 'work', title: 'lone \ud800' }, /lone surrogate/);
    refuses({ type: 'transfer', dc: 'festival', to: 'ab'.repeat(32), amount: '1', asset: 'gold' }, /asset: expected "tokens" or "reputation"/);
    refuses({ type: 'as_dc', dc: 'a', operation: { type: 'as_dc', dc: 'b', operation: { type: 'leave', dc: 'c' } } }, /cannot wrap another as_dc/);
    refuses({ type: 'create_dc', id: 'x', name: 'X', token_symbol: 'X', types: { w: { evaluation_set: ['1', '0'] } } }, /strictly increasing/);
    refuses({ type: 'create_dc', id: 'x', name: 'X', token_symbol: 'X', params: { rules: 'other' }, types: {} }, /params\.rules/);
    refuses({ type: 'create_dc', id: 'x', name: 'X', token_symbol: 'X', types: { w: { thanks_only: 'yes' } } }, /thanks_only: expected true or false/);
  });

  test('transaction fields', () => {
    assert.throws(() => encodeTransaction({ ...base, signer: 'abcd' }), /signer: expected 64 hex digits/);
    assert.throws(() => encodeTransaction({ ...base, nonce: -1 }), /nonce/);
    assert.throws(() => encodeTransaction({ ...base, nonce: 2n ** 64n }), /nonce/);
    assert.throws(() => encodeTransaction({ ...base, chainId: 'c'.repeat(65) }), /chain_id: it is 65 bytes/);
    assert.throws(() => encodeSigned(base, new Uint8Array(63)), /signature: expected 64 bytes/);
  });
});

describe('keys', () => {
  test('a generated key signs, verifies and exports its seed', async () => {
    const key = await generateKey();
    assert.match(key.agent, /^[0-9a-f]{64}$/);
    assert.equal(await agentId(key.publicKey), key.agent);
    const message = new TextEncoder().encode('hello');
    const signature = await sign(key.privateKey, message);
    assert.equal(signature.length, 64);
    assert.ok(await verify(key.publicKey, signature, message));
    assert.ok(await verify(key.agent, signature, message));
    assert.equal(await verify(key.agent, signature, new TextEncoder().encode('hellO')), false);

    const seed = await exportSeed(key.privateKey);
    const again = await importSeed(`${seed}\n`);
    assert.equal(again.agent, key.agent);
    assert.equal(hex(await sign(again.privateKey, message)), hex(signature));
  });

  test('weak keys, small-order R and non-canonical s are refused, as the node refuses them', async () => {
    // The encodings of points of small order, canonical or not.
    const weak = [
      '0100000000000000000000000000000000000000000000000000000000000000',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0000000000000000000000000000000000000000000000000000000000000080',
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    ];
    for (const point of weak) assert.ok(isSmallOrder(unhex(point, 32)), point);
    const key = await generateKey();
    assert.equal(isSmallOrder(unhex(key.agent, 32)), false);
    // The identity key with the trivial signature (R = identity, s = 0):
    // valid under the lax equation, refused here.
    const trivial = new Uint8Array(64);
    trivial[0] = 1;
    assert.equal(await verify(weak[0], trivial, new TextEncoder().encode('anything')), false);
    // A real signature with s + L in place of s.
    const message = new TextEncoder().encode('hello');
    const signature = await sign(key.privateKey, message);
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i]);
    s += L;
    const malleated = signature.slice();
    for (let i = 32; i < 64; i++) { malleated[i] = Number(s & 0xffn); s >>= 8n; }
    assert.equal(await verify(key.agent, malleated, message), false);
  });

  test('a key imported as non-extractable still signs but keeps its seed', async () => {
    const entry = fixture.transactions[0];
    const key = await importSeed(entry.seed, { extractable: false });
    assert.equal(key.agent, entry.signer);
    assert.equal(hex(await sign(key.privateKey, unhex(entry.signing_bytes))), entry.signature);
    await assert.rejects(exportSeed(key.privateKey));
  });

  test('a seed is 64 hex digits', async () => {
    await assert.rejects(importSeed('abc'), /not a key seed/);
    await assert.rejects(importSeed('zz'.repeat(32)), /not a key seed/);
  });
});
