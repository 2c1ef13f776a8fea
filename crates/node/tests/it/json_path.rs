//! The JSON path of a transaction against the codec's limits.
//!
//! A transaction sent in its JSON form becomes a `SignedTransaction` value
//! that the codec never saw. Whatever that value holds (texts beyond their
//! limits, control characters, nested `as_dc`, accounts nobody holds a key
//! of, unsorted evaluation sets, too many founders...), one of two things
//! must happen: `verified()` refuses it, or its bytes decode strictly, inside
//! a block, to exactly the same transaction. Nothing in between: a
//! transaction that got into a pool and then could not be read back from a
//! block bricked every node that finalized it.

use proptest::prelude::*;
use serde_json::{Value, json};
use stigmer_ledger::block::{Block, Header};
use stigmer_ledger::tx::{Keypair, SignedTransaction};
use stigmer_ledger::{Hash, LedgerError};
use stigmer_node::json::OperationJson;

const CHAIN: &str = "json-path";

fn key(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

/// Text of any length around the limits, sometimes with characters the
/// ledger refuses.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 -]{0,12}",
        "[a-zé🌱 ]{0,120}",
        (1usize..400).prop_map(|n| "x".repeat(n)),
        "[a-z]{1,5}[\u{0}-\u{1f}\u{7f}\u{202e}\u{2066}][a-z]{0,5}",
        " [a-z]{1,8} ",
    ]
}

/// An account as a person might type it.
fn account() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u8..8).prop_map(|n| key(n).agent().to_string()),
        (0u8..8).prop_map(|n| key(n).agent().to_string().to_uppercase()),
        "dc:[a-z]{1,10}",
        "dc:[A-Z ]{1,10}",
        "[A-Za-z ]{1,20}",
        (60usize..70).prop_map(|n| "a".repeat(n)),
    ]
}

fn amount() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..1000).prop_map(|n| json!(n.to_string())),
        Just(json!("0.000000000000000001")),
        Just(json!("1000000000000000")),
        Just(json!("1000000000000001")),
    ]
}

fn contribution_type() -> impl Strategy<Value = Value> {
    (
        proptest::collection::vec(0u64..12, 0..20),
        any::<bool>(),
        prop_oneof![Just(json!("0.5")), Just(json!("2")), Just(json!("1.5"))],
    )
        .prop_map(|(set, thanks_only, fee)| {
            let set: Vec<String> = set.iter().map(|v| v.to_string()).collect();
            json!({ "evaluation_set": set, "thanks_only": thanks_only, "fee": fee })
        })
}

fn leaf_operation() -> impl Strategy<Value = Value> {
    prop_oneof![
        ("[a-z]{1,40}", proptest::option::of(account())).prop_map(|(dc, referrer)| {
            match referrer {
                Some(referrer) => json!({"type": "join", "dc": dc, "referrer": referrer}),
                None => json!({"type": "join", "dc": dc}),
            }
        }),
        ("[a-z]{1,8}", text(), text(), text()).prop_map(|(dc, id, kind, title)| {
            json!({"type": "contribute", "dc": dc, "id": id, "contribution_type": kind, "title": title})
        }),
        ("[a-z]{1,8}", text(), 0u64..12).prop_map(|(dc, contribution, value)| {
            json!({"type": "evaluate", "dc": dc, "contribution": contribution, "value": value.to_string()})
        }),
        ("[a-z]{1,8}", account(), amount()).prop_map(|(dc, to, amount)| {
            json!({"type": "transfer", "dc": dc, "to": to, "amount": amount})
        }),
        (
            "[a-z]{1,8}",
            text(),
            text(),
            proptest::collection::btree_map("[a-z]{1,6}", contribution_type(), 0..40),
            proptest::collection::vec(account(), 0..3),
            0usize..1100,
        )
            .prop_map(|(id, name, symbol, types, founders, extra_founders)| {
                let mut founders: Vec<Value> = founders
                    .into_iter()
                    .map(|agent| json!({"agent": agent, "reputation": "1", "tokens": "2"}))
                    .collect();
                // Sometimes far more founders than a DC may name.
                if extra_founders > 1000 {
                    for n in 0..extra_founders {
                        let agent = format!("{:064x}", n);
                        founders.push(json!({"agent": agent, "reputation": "1", "tokens": "0"}));
                    }
                }
                json!({"type": "create_dc", "id": id, "name": name, "token_symbol": symbol,
                       "types": types, "founders": founders})
            }),
    ]
}

fn operation() -> impl Strategy<Value = Value> {
    leaf_operation().prop_recursive(2, 4, 1, |inner| {
        ("[a-z]{1,8}", inner)
            .prop_map(|(dc, operation)| json!({"type": "as_dc", "dc": dc, "operation": operation}))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_json_transaction_is_refused_or_round_trips_in_a_block(
        operation in operation(),
        signer in 0u8..4,
        nonce in 0u64..5,
    ) {
        // Forms serde refuses never become transactions at all.
        let Ok(parsed) = serde_json::from_value::<OperationJson>(operation) else {
            return Ok(());
        };
        let Ok(operation) = parsed.to_operation() else {
            return Ok(());
        };
        let tx = key(signer).sign(CHAIN, nonce, operation);
        let Ok(verified) = tx.clone().verified() else {
            return Ok(());
        };
        // It is in: its bytes must be exactly what a strict decoder reads,
        // alone and inside a block.
        prop_assert_eq!(SignedTransaction::decode(verified.encoded()), Ok(tx.clone()));
        let block = Block {
            header: Header {
                height: 1,
                parent: Hash::ZERO,
                timestamp_ms: 0,
                tx_root: stigmer_ledger::block::tx_root(std::slice::from_ref(&tx)),
                state_root: Hash::ZERO,
            },
            txs: vec![tx],
        };
        prop_assert_eq!(Block::decode(&block.encode()), Ok(block.clone()));
        prop_assert_eq!(block.check_canonical(), Ok(()));
    }
}

/// The transactions that bricked nodes, sent in their JSON form: each is
/// refused with an error that names what is wrong.
#[test]
fn transactions_beyond_the_codec_are_refused_by_name() {
    let ann = key(1).agent().to_string();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"type": "contribute", "dc": "garden", "id": "c", "contribution_type": "work",
                   "title": "x".repeat(201)}),
            "title: 201 exceeds the maximum of 200",
        ),
        (
            json!({"type": "create_dc", "id": "garden", "name": "n".repeat(81),
                   "token_symbol": "SEED", "types": {}}),
            "name: 81 exceeds the maximum of 80",
        ),
        (
            json!({"type": "as_dc", "dc": "a", "operation":
                   {"type": "as_dc", "dc": "b", "operation": {"type": "leave", "dc": "c"}}}),
            "operation: unknown tag 7",
        ),
        (
            json!({"type": "contribute", "dc": "garden", "id": "c", "contribution_type": "work",
                   "title": "clear\u{1b}[2J"}),
            "title: contains a control or bidirectional-override character",
        ),
        (
            json!({"type": "create_dc", "id": "garden", "name": "Garden", "token_symbol": "SEED",
                   "types": {"work": {"evaluation_set": ["1", "0"]}}}),
            "evaluation set: not in strictly increasing order",
        ),
    ];
    // An account nobody holds the key of is refused as early as the JSON.
    // Nor 32 bytes that are no point of the curve, nor a weak key (the
    // identity), which anyone can sign for.
    let not_a_point = format!("02{}", "0".repeat(62));
    let identity = format!("01{}", "0".repeat(62));
    for (to, reason) in [
        (not_a_point, "not a point of the curve"),
        (identity, "weak key"),
    ] {
        let parsed: OperationJson = serde_json::from_value(
            json!({"type": "transfer", "dc": "garden", "to": to, "amount": "1"}),
        )
        .unwrap();
        let error = parsed.to_operation().unwrap_err();
        assert_eq!(error.field, "to");
        assert!(error.reason.contains(reason), "{}", error.reason);
    }
    for to in [ann.to_uppercase(), "Bo Smith".to_string()] {
        let parsed: OperationJson = serde_json::from_value(
            json!({"type": "transfer", "dc": "garden", "to": to, "amount": "1"}),
        )
        .unwrap();
        let error = parsed.to_operation().unwrap_err();
        assert_eq!(error.field, "to");
        assert!(
            error
                .reason
                .contains("not an account anyone holds the key of")
        );
    }
    for (operation, expected) in cases {
        let parsed: OperationJson = serde_json::from_value(operation.clone()).unwrap();
        let tx = key(2).sign(CHAIN, 0, parsed.to_operation().unwrap());
        match tx.verified() {
            Err(LedgerError::BeyondLimits(what)) => {
                assert!(what.contains(expected), "{operation}: {what}");
            }
            other => panic!("{operation}: expected a refusal naming {expected:?}, got {other:?}"),
        }
    }
    // A transaction over 64 KiB: many founders with long referrers.
    let founders: Vec<Value> = (0..700u32)
        .map(|n| {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&n.to_le_bytes());
            let founder = Keypair::from_seed(seed).agent().to_string();
            json!({"agent": founder, "reputation": "1", "tokens": "1",
                        "referrer": ann})
        })
        .collect();
    let parsed: OperationJson = serde_json::from_value(json!({"type": "create_dc",
        "id": "big", "name": "Big", "token_symbol": "BIG", "types": {}, "founders": founders}))
    .unwrap();
    let tx = key(2).sign(CHAIN, 0, parsed.to_operation().unwrap());
    assert!(
        matches!(tx.verified(), Err(LedgerError::TxTooLarge { .. })),
        "a transaction over 64 KiB must be refused"
    );
}

/// The identity point is a public key anyone can sign for: with it, the
/// signature (R = identity, s = 0) verifies under the non-strict equation.
/// Strict verification refuses it, and so does every weak key.
#[test]
fn weak_keys_and_trivial_signatures_are_refused() {
    use stigmer_ledger::tx::{PublicKey, Transaction};
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut trivial = [0u8; 64];
    trivial[0] = 1;
    let tx = SignedTransaction {
        transaction: Transaction {
            chain_id: CHAIN.to_string(),
            signer: PublicKey(identity),
            nonce: 0,
            operation: OperationJson::Leave {
                dc: "garden".to_string(),
            }
            .to_operation()
            .unwrap(),
        },
        signature: trivial,
    };
    assert_eq!(tx.verify_signature(), Err(LedgerError::WeakKey));
    assert_eq!(tx.clone().verified().err(), Some(LedgerError::WeakKey));
    // Every other small-order point is weak too (their canonical encodings).
    for point in SMALL_ORDER_POINTS {
        let mut weak = tx.clone();
        weak.transaction.signer = PublicKey(stigmer_ledger::tx::unhex::<32>(point).unwrap());
        assert!(weak.verify_signature().is_err(), "{point}");
    }
}

/// The encodings of the eight points of small order on edwards25519.
const SMALL_ORDER_POINTS: [&str; 7] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
];
