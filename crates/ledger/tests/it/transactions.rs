use stigmer_ledger::codec::{decode_operation, encode_operation};
use stigmer_ledger::tx::{SignedTransaction, TX_BYTES_MAX};
use stigmer_ledger::LedgerError;
use stigmer_protocol::{AgentId, Asset, DcId, Fixed, Operation};

use crate::common::*;

fn operations() -> Vec<Operation> {
    let ann = keypair(1);
    vec![
        create_dc(&[&ann, &keypair(2)]),
        Operation::Join {
            dc: DcId::new("garden").unwrap(),
            referrer: Some(ann.agent()),
        },
        Operation::Leave {
            dc: DcId::new("garden").unwrap(),
        },
        contribute("beds"),
        evaluate("beds", 1),
        Operation::Thank {
            dc: DcId::new("garden").unwrap(),
            contribution: "beds".parse().unwrap(),
        },
        Operation::Transfer {
            dc: DcId::new("garden").unwrap(),
            to: keypair(2).agent(),
            amount: "2.5".parse().unwrap(),
            asset: Asset::Tokens,
        },
        Operation::Transfer {
            dc: DcId::new("garden").unwrap(),
            to: AgentId::of_dc(&DcId::new("fablab").unwrap()),
            amount: "1".parse().unwrap(),
            asset: Asset::Tokens,
        },
        Operation::AsDc {
            dc: DcId::new("garden").unwrap(),
            operation: Box::new(Operation::Join {
                dc: DcId::new("fablab").unwrap(),
                referrer: None,
            }),
        },
    ]
}

#[test]
fn every_operation_round_trips() {
    for operation in operations() {
        let bytes = encode_operation(&operation);
        assert_eq!(decode_operation(&bytes).unwrap(), operation);
    }
}

#[test]
fn truncated_or_extended_bytes_are_refused_without_panic() {
    let key = keypair(1);
    for operation in operations() {
        let bytes = key.sign(CHAIN, 3, operation).encode();
        for end in 0..bytes.len() {
            assert!(
                SignedTransaction::decode(&bytes[..end]).is_err(),
                "prefix of {end} bytes"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            SignedTransaction::decode(&longer),
            Err(LedgerError::Malformed { .. })
        ));
        // Flipping any byte either fails to decode or fails the signature.
        for index in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[index] ^= 0x40;
            if let Ok(tx) = SignedTransaction::decode(&flipped) {
                assert!(
                    tx.verify_signature().is_err(),
                    "byte {index} flipped, still valid"
                );
            }
        }
    }
}

#[test]
fn signatures_bind_signer_chain_nonce_and_operation() {
    let ann = keypair(1);
    let tx = ann.sign(CHAIN, 0, contribute("beds"));
    tx.verify_signature().unwrap();
    assert_eq!(tx.signer(), ann.agent());
    assert_eq!(tx.signer().as_str().len(), 64);

    let mut forged = tx.clone();
    forged.transaction.signer = keypair(2).public();
    assert_eq!(forged.verify_signature(), Err(LedgerError::BadSignature));
    let mut other_nonce = tx.clone();
    other_nonce.transaction.nonce = 1;
    assert_eq!(
        other_nonce.verify_signature(),
        Err(LedgerError::BadSignature)
    );
    let mut other_chain = tx.clone();
    other_chain.transaction.chain_id = "other".to_string();
    assert_eq!(
        other_chain.verify_signature(),
        Err(LedgerError::BadSignature)
    );
    let mut other_operation = tx;
    other_operation.transaction.operation = contribute("weeds");
    assert_eq!(
        other_operation.verify_signature(),
        Err(LedgerError::BadSignature)
    );
}

#[test]
fn oversized_transactions_are_refused_before_decoding() {
    let bytes = vec![1u8; TX_BYTES_MAX as usize + 1];
    assert_eq!(
        SignedTransaction::decode(&bytes),
        Err(LedgerError::TxTooLarge {
            bytes: u64::from(TX_BYTES_MAX) + 1,
            max: TX_BYTES_MAX
        })
    );
}

#[test]
fn lengths_are_checked_against_limits_before_allocating() {
    // A transfer whose agent id claims to be 4 GiB long.
    let key = keypair(1);
    let tx = key.sign(
        CHAIN,
        0,
        Operation::Transfer {
            dc: DcId::new("garden").unwrap(),
            to: AgentId::new("bo").unwrap(),
            amount: Fixed::ONE,
            asset: Asset::Tokens,
        },
    );
    let mut bytes = tx.encode();
    let marker = b"bo";
    let position = bytes.windows(2).position(|w| w == marker).unwrap();
    bytes[position - 4..position].copy_from_slice(&u32::MAX.to_le_bytes());
    let error = SignedTransaction::decode(&bytes).unwrap_err().to_string();
    assert!(error.contains("exceeds the maximum of 64"), "{error}");
}
