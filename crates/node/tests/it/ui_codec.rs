//! The fixture that keeps the browser's encoder (`ui/js/codec.js`,
//! `ui/js/keys.js`) byte for byte equal to the Rust one.
//!
//! This test builds sample transactions (one per operation kind, plus the
//! JSON defaults and the extremes of amounts and nonces) and two blocks on a
//! real `Chain`, and compares everything the browser must reproduce with
//! `ui/test/fixtures.json`; `ui/test/codec.test.mjs` checks the JavaScript
//! against the same file. A change to the encoding fails here first: then
//! update `codec.js`, regenerate the fixture with
//! `STIGMER_BLESS=1 cargo test -p stigmer-node --test it ui_codec` and run
//! `node --test crates/node/ui/test/`.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use stigmer_ledger::Hash;
use stigmer_ledger::block::Block;
use stigmer_ledger::chain::Chain;
use stigmer_ledger::tx::{Keypair, SignedTransaction, TX_SIGNING_DOMAIN, hex};
use stigmer_node::json::{OperationJson, ParamsJson, TransactionJson, TypeJson};
use stigmer_protocol::{
    Asset, ContributionType, CreateDc, DcId, DcParams, Fixed, Founder, Operation, RuleSet,
};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ui/test/fixtures.json");
const CHAIN_ID: &str = "stigmer-conformance";
const GENESIS_TIMESTAMP_MS: u64 = 1_750_000_000_000;

/// A deterministic key per name, so the fixture never changes by chance.
fn key(name: &str) -> Keypair {
    Keypair::from_seed(Hash::of(name.as_bytes()).0)
}

fn amount(text: &str) -> Fixed {
    text.parse().unwrap()
}

fn dc(id: &str) -> DcId {
    DcId::new(id).unwrap()
}

/// Where an operation's JSON form comes from.
enum Form {
    /// Built in Rust; the fixture holds `OperationJson::from_operation`, what
    /// the API returns.
    Rust(Operation),
    /// Written by hand as a person or the UI would, relying on the JSON
    /// form's defaults; the fixture holds it as written.
    Json(Value),
}

struct Sample {
    name: &'static str,
    signer: &'static str,
    nonce: u64,
    form: Form,
    /// In the sample block (nonces in order per signer) or only on its own.
    in_block: bool,
}

fn festival() -> Operation {
    let percent = |n: &str| amount(&format!("0.{n}"));
    let kind = |fee: &str, set: &[&str]| ContributionType {
        fee: amount(fee),
        evaluation_set: set.iter().map(|v| amount(v)).collect(),
        ..ContributionType::default()
    };
    // "10" sorts before "9" in bytes but after it in a JS object: the
    // browser must sort names itself.
    let types = BTreeMap::from([
        ("9".parse().unwrap(), kind("0.5", &["0", "1"])),
        ("10".parse().unwrap(), kind("1", &["0", "0.5", "1"])),
        (
            "Zeta".parse().unwrap(),
            ContributionType {
                stake: percent("05"),
                distribution_stake: amount("0.123456789012345678"),
                reward_threshold: percent("66"),
                token_reward_factor: amount("12.25"),
                reputation_reward_factor: amount("0.75"),
                evaluator_token_fund: amount("3.000000000000000001"),
                ..kind(
                    "2",
                    &["0", "0.333333333333333333", "0.666666666666666667", "1"],
                )
            },
        ),
        ("alpha".parse().unwrap(), ContributionType::thanks_only()),
        (
            "émoji 🎨".parse().unwrap(),
            kind("0.000000000000000001", &["1", "2", "3", "4", "5"]),
        ),
    ]);
    Operation::CreateDc(CreateDc {
        id: dc("festival"),
        name: "Festival ✨ Łódź".to_string(),
        token_symbol: "FEST".to_string(),
        params: DcParams {
            rules: RuleSet::BackfeedClassic,
            beta: amount("0.75"),
            referral_fraction: amount("0.123456789012345678"),
            reward_evaluators_with_tokens: true,
            initial_reputation: amount("10.5"),
            initial_tokens: amount("100"),
        },
        types,
        founders: vec![
            Founder {
                agent: key("alice").agent(),
                reputation: amount("1000"),
                tokens: amount("250.000000000000000001"),
                referrer: None,
            },
            Founder {
                agent: key("bob").agent(),
                reputation: amount("500.5"),
                tokens: Fixed::ZERO,
                referrer: Some(key("alice").agent()),
            },
        ],
    })
}

fn samples() -> Vec<Sample> {
    let alice = key("alice").agent();
    let bob = key("bob").agent();
    let carol = key("carol").agent();
    let sample = |name, signer, nonce, operation| Sample {
        name,
        signer,
        nonce,
        form: Form::Rust(operation),
        in_block: true,
    };
    let by_hand = |name, signer, nonce, operation| Sample {
        name,
        signer,
        nonce,
        form: Form::Json(operation),
        in_block: true,
    };
    vec![
        sample("create_dc", "alice", 0, festival()),
        sample(
            "join_with_referrer",
            "carol",
            0,
            Operation::Join {
                dc: dc("festival"),
                referrer: Some(alice.clone()),
            },
        ),
        sample(
            "join",
            "dave",
            0,
            Operation::Join {
                dc: dc("festival"),
                referrer: None,
            },
        ),
        sample("leave", "dave", 1, Operation::Leave { dc: dc("festival") }),
        sample(
            "contribute",
            "alice",
            1,
            Operation::Contribute {
                dc: dc("festival"),
                id: "stage-build".parse().unwrap(),
                kind: "émoji 🎨".parse().unwrap(),
                title: "Bühne aufbauen 🎪 — 舞台を作る \"quoted\" \\ backslash".to_string(),
            },
        ),
        sample(
            "evaluate",
            "bob",
            0,
            Operation::Evaluate {
                dc: dc("festival"),
                contribution: "stage-build".parse().unwrap(),
                value: amount("0.333333333333333333"),
            },
        ),
        sample(
            "thank",
            "carol",
            1,
            Operation::Thank {
                dc: dc("festival"),
                contribution: "stage-build".parse().unwrap(),
            },
        ),
        sample(
            "transfer_tokens",
            "alice",
            2,
            Operation::Transfer {
                dc: dc("festival"),
                to: bob.clone(),
                amount: amount("123456789.123456789123456789"),
                asset: Asset::Tokens,
            },
        ),
        sample(
            "transfer_reputation",
            "bob",
            1,
            Operation::Transfer {
                dc: dc("festival"),
                to: alice.clone(),
                amount: amount("0.000000000000000001"),
                asset: Asset::Reputation,
            },
        ),
        sample(
            "as_dc",
            "alice",
            3,
            Operation::AsDc {
                dc: dc("festival"),
                operation: Box::new(Operation::Transfer {
                    dc: dc("neighbours"),
                    to: carol.clone(),
                    amount: amount("42.42"),
                    asset: Asset::Tokens,
                }),
            },
        ),
        sample(
            "as_dc_join",
            "alice",
            4,
            Operation::AsDc {
                dc: dc("festival"),
                operation: Box::new(Operation::Join {
                    dc: dc("neighbours"),
                    referrer: Some(carol.clone()),
                }),
            },
        ),
        by_hand(
            "create_dc_defaults",
            "erin",
            0,
            json!({
                "type": "create_dc",
                "id": "garden",
                "name": "Community garden 🌱",
                "token_symbol": "SEED",
                "types": {
                    "work": {},
                    "care": { "fee": "2", "evaluation_set": ["0", "0.5", "1"] },
                    "thanks": { "thanks_only": true, "fee": "0", "evaluator_token_fund": "0" },
                },
            }),
        ),
        by_hand(
            "create_dc_partial_params",
            "erin",
            1,
            json!({
                "type": "create_dc",
                "id": "garden-2",
                "name": "",
                "token_symbol": "",
                "params": { "rules": "backfeed-classic", "initial_tokens": "7" },
                "types": {},
                "founders": [{ "agent": carol.to_string(), "reputation": "1", "tokens": "0" }],
            }),
        ),
        by_hand(
            "transfer_default_asset",
            "erin",
            2,
            json!({ "type": "transfer", "dc": "garden", "to": bob.to_string(), "amount": "3" }),
        ),
        by_hand(
            "contribute_without_title",
            "erin",
            3,
            json!({
                "type": "contribute",
                "dc": "garden",
                "id": "weeding",
                "contribution_type": "work",
            }),
        ),
        by_hand(
            "transfer_to_a_dc_account",
            "erin",
            4,
            json!({ "type": "transfer", "dc": "garden", "to": "dc:festival", "amount": "1" }),
        ),
        Sample {
            name: "largest_nonce_and_amount",
            signer: "frank",
            nonce: u64::MAX,
            form: Form::Rust(Operation::Evaluate {
                dc: dc("festival"),
                contribution: "stage-build".parse().unwrap(),
                value: Fixed::MAX,
            }),
            in_block: false,
        },
    ]
}

/// Decimal spellings and the raw `u128` they denote; the browser must parse
/// them to the same units.
const AMOUNTS: &[&str] = &[
    "0",
    "1",
    "12.5",
    "007.50",
    "0.000000000000000001",
    "0.999999999999999999",
    "123456789.123456789123456789",
    "340282366920938463463.374607431768211455",
];

/// Spellings both Rust and the browser refuse.
const BAD_AMOUNTS: &[&str] = &[
    "",
    "-1",
    "-0.5",
    "+1",
    "1.",
    ".5",
    "1e3",
    " 1",
    "1 ",
    "1,5",
    "1.2.3",
    "0x10",
    "１",
    "1.0000000000000000001",
    "0.0000000000000000000",
    "340282366920938463463.374607431768211456",
    "1000000000000000000000000",
];

struct Built {
    json: Value,
    signed: SignedTransaction,
}

fn build(sample: &Sample) -> Built {
    let keypair = key(sample.signer);
    let (operation, json) = match &sample.form {
        Form::Rust(operation) => {
            let json = serde_json::to_value(OperationJson::from_operation(operation)).unwrap();
            (operation.clone(), json)
        }
        Form::Json(json) => {
            let parsed: OperationJson = serde_json::from_value(json.clone()).unwrap();
            (parsed.to_operation().unwrap(), json.clone())
        }
    };
    // What the API would make of the JSON form is the operation itself.
    let reparsed: OperationJson = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(
        reparsed.to_operation().unwrap(),
        operation,
        "{}",
        sample.name
    );
    let signed = keypair.sign(CHAIN_ID, sample.nonce, operation);
    Built { json, signed }
}

fn transaction_entry(sample: &Sample, built: &Built) -> Value {
    let keypair = key(sample.signer);
    let signed = &built.signed;
    let encoded = signed.encode();
    let unsigned = &encoded[..encoded.len() - 64];
    let mut signing_bytes = TX_SIGNING_DOMAIN.to_vec();
    signing_bytes.extend_from_slice(unsigned);
    // The fixture's bytes must be what the node accepts and signs.
    assert_eq!(SignedTransaction::decode(&encoded).unwrap(), *signed);
    signed.verify_signature().unwrap();
    json!({
        "name": sample.name,
        "chain_id": CHAIN_ID,
        "seed": hex(&keypair.seed()),
        "signer": keypair.public().to_string(),
        // A string: JSON numbers past 2^53 lose digits in JavaScript.
        "nonce": sample.nonce.to_string(),
        "operation": built.json,
        "encoding": hex(unsigned),
        "signing_bytes": hex(&signing_bytes),
        "signature": hex(&signed.signature),
        "signed": hex(&encoded),
        "hash": signed.hash().to_string(),
    })
}

/// A block as `GET /api/v1/blocks/{height}` shows it (without the outcomes,
/// which live in the store), plus the encodings the API does not return.
fn block_entry(block: &Block) -> Value {
    let header = &block.header;
    json!({
        "height": header.height,
        "hash": block.hash().to_string(),
        "parent": header.parent.to_string(),
        "timestamp_ms": header.timestamp_ms,
        "tx_root": header.tx_root.to_string(),
        "state_root": header.state_root.to_string(),
        "n_transactions": block.txs.len(),
        "transactions": block.txs.iter().map(|tx| json!({
            "hash": tx.hash().to_string(),
            "transaction": TransactionJson::from_signed(tx),
        })).collect::<Vec<_>>(),
        "header_encoding": hex(&header.encode()),
        "encoded_transactions": block.txs.iter().map(|tx| hex(&tx.encode())).collect::<Vec<_>>(),
    })
}

fn fixture() -> Value {
    let samples = samples();
    let built: Vec<Built> = samples.iter().map(build).collect();
    let transactions: Vec<Value> = samples
        .iter()
        .zip(&built)
        .map(|(sample, built)| transaction_entry(sample, built))
        .collect();

    let mut chain = Chain::from_genesis(
        CHAIN_ID,
        Hash::of(b"stigmer-conformance genesis"),
        GENESIS_TIMESTAMP_MS,
        &[],
    )
    .unwrap();
    let empty = chain
        .propose(GENESIS_TIMESTAMP_MS + 123, Vec::new())
        .unwrap()
        .block;
    let block_txs: Vec<SignedTransaction> = samples
        .iter()
        .zip(&built)
        .filter(|(sample, _)| sample.in_block)
        .map(|(_, built)| built.signed.clone().verified().unwrap().into_inner())
        .collect();
    // Sealed with every sample, refused ones included, as any proposer
    // could (one of this version would leave the refused ones out): the
    // browser must read those blocks too.
    let full = chain
        .seal(GENESIS_TIMESTAMP_MS + 86_400_456, block_txs)
        .unwrap();
    chain.apply_block(&full).unwrap();

    let amounts: Vec<Value> = AMOUNTS
        .iter()
        .map(|text| json!({ "text": text, "raw": amount(text).raw().to_string() }))
        .collect();
    for text in BAD_AMOUNTS {
        assert!(text.parse::<Fixed>().is_err(), "Rust accepts {text:?}");
    }

    json!({
        "about": "Generated by crates/node/tests/it/ui_codec.rs (STIGMER_BLESS=1 cargo test -p stigmer-node --test it ui_codec); checked by crates/node/ui/test/codec.test.mjs. Do not edit by hand.",
        "defaults": {
            "params": ParamsJson::default(),
            "type": TypeJson::default(),
        },
        "amounts": amounts,
        "bad_amounts": BAD_AMOUNTS,
        "transactions": transactions,
        "blocks": [block_entry(&empty), block_entry(&full)],
    })
}

#[test]
fn the_browser_fixture_matches_the_rust_encoding() {
    let expected = fixture();
    let text = format!("{}\n", serde_json::to_string_pretty(&expected).unwrap());
    if std::env::var("STIGMER_BLESS").as_deref() == Ok("1") {
        std::fs::write(FIXTURE, text).unwrap();
        return;
    }
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(FIXTURE).expect("the fixture exists; STIGMER_BLESS=1 writes it"),
    )
    .unwrap();
    let hint = "the Rust encoding changed: update ui/js/codec.js, rerun with STIGMER_BLESS=1 \
                and run `node --test crates/node/ui/test/`";
    for key in ["about", "defaults", "amounts", "bad_amounts"] {
        assert_eq!(committed[key], expected[key], "fixture field {key}: {hint}");
    }
    let committed_txs = committed["transactions"].as_array().unwrap();
    let expected_txs = expected["transactions"].as_array().unwrap();
    assert_eq!(committed_txs.len(), expected_txs.len(), "{hint}");
    for (committed_tx, expected_tx) in committed_txs.iter().zip(expected_txs) {
        assert_eq!(
            committed_tx, expected_tx,
            "transaction {}: {hint}",
            expected_tx["name"]
        );
    }
    assert_eq!(committed["blocks"], expected["blocks"], "blocks: {hint}");
    assert_eq!(committed, expected, "{hint}");
}
