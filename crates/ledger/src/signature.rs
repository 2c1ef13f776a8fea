//! The one rule for transaction signatures, on every path (a transaction
//! arriving, a peer's block, `stigmer verify`), one at a time or in batches.
//!
//! Ed25519 as ZIP 215 specifies it (cofactored verification, implemented by
//! `ed25519-zebra`), because under ZIP 215 a batch accepts exactly the
//! signatures that one-by-one verification accepts. That is what lets a
//! node check a block's thousands of signatures as one batch (about half
//! the work) while every node still agrees on every signature; under other
//! rules (ed25519-dalek's `verify_strict` included) a batch and a single
//! check can disagree on a crafted signature, and nodes that batch would
//! fork from nodes that do not.
//!
//! On top of ZIP 215, two refusals, both decided from the bytes alone:
//! - a key or an `R` of small order: a weak key is one anyone can sign
//!   for, and a small-order `R` makes a signature that proves nothing;
//! - a non-canonical encoding of the key or of `R` (ZIP 215 accepts them):
//!   one key has one account, and a signed transaction one hash.
//!
//! ZIP 215 itself refuses a non-canonical `s`. Every signature a holder of
//! a key can make that `verify_strict` accepted passes this rule too, so
//! chains written under the earlier rule still verify.

use std::convert::Infallible;

use ed25519_zebra::batch;
use ed25519_zebra::{Signature, VerificationKey, VerificationKeyBytes};

use crate::LedgerError;

/// The y coordinates (little-endian, sign bit clear) of the eight points
/// of small order: y = 0, 1, -1 and ±y of the points of order 8. A point
/// is of small order exactly when its y is one of these.
const SMALL_ORDER_Y: [[u8; 32]; 5] = [
    [0; 32],
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
];

/// y of a point encoding: its sign bit (x's) cleared.
fn y_of(encoding: &[u8; 32]) -> [u8; 32] {
    let mut y = *encoding;
    y[31] &= 0x7f;
    y
}

/// Whether the encoded point is of small order (canonical or not).
pub fn is_small_order(encoding: &[u8; 32]) -> bool {
    SMALL_ORDER_Y.contains(&y_of(encoding))
}

/// Whether y < p = 2^255 - 19, i.e. the encoding is the point's only one.
/// (The other non-canonical encoding, x = -0, is of y = ±1: small order.)
fn is_canonical(encoding: &[u8; 32]) -> bool {
    let y = y_of(encoding);
    !(y[31] == 0x7f && y[1..31].iter().all(|&b| b == 0xff) && y[0] >= 0xed)
}

/// What the bytes alone say against a (key, signature) pair.
fn check_encodings(signer: &[u8; 32], signature: &[u8; 64]) -> Result<(), LedgerError> {
    if is_small_order(signer) {
        return Err(LedgerError::WeakKey);
    }
    let r: &[u8; 32] = signature[..32].try_into().expect("32 of 64 bytes");
    if !is_canonical(signer) || !is_canonical(r) || is_small_order(r) {
        return Err(LedgerError::BadSignature);
    }
    Ok(())
}

/// Checks one signature of `signer` over `message`.
pub fn verify(signer: &[u8; 32], signature: &[u8; 64], message: &[u8]) -> Result<(), LedgerError> {
    check_encodings(signer, signature)?;
    let key = VerificationKey::try_from(*signer).map_err(|_| LedgerError::BadSignature)?;
    key.verify(&Signature::from_bytes(signature), message)
        .map_err(|_| LedgerError::BadSignature)
}

/// Checks every (signer, signature, message) as one batch; on failure,
/// one by one to name the first bad one: its index and error.
pub fn verify_all<'a>(
    items: &[(&'a [u8; 32], &'a [u8; 64], Vec<u8>)],
) -> Result<(), (usize, LedgerError)> {
    let first_bad = || {
        items
            .iter()
            .enumerate()
            .find_map(|(index, (signer, signature, message))| {
                Some((index, verify(signer, signature, message).err()?))
            })
            .map_or(Ok(()), Err)
    };
    let mut verifier = batch::Verifier::new();
    for (signer, signature, message) in items {
        if check_encodings(signer, signature).is_err() {
            return first_bad();
        }
        verifier.queue((
            VerificationKeyBytes::from(**signer),
            Signature::from_bytes(signature),
            message,
        ));
    }
    match verifier.verify(BatchRng::new()) {
        Ok(()) => Ok(()),
        Err(_) => first_bad(),
    }
}

/// The random coefficients of a batch: unpredictable to whoever made the
/// signatures, or bad ones could be crafted to cancel out. A BLAKE3 stream
/// keyed by the operating system's randomness.
struct BatchRng(blake3::OutputReader);

impl BatchRng {
    fn new() -> BatchRng {
        let mut seed = [0u8; 32];
        // Without the operating system's randomness, a fixed seed would let
        // bad signatures cancel: refuse to go on rather than risk it.
        getrandom::fill(&mut seed).expect("the operating system's randomness");
        BatchRng(blake3::Hasher::new_keyed(&seed).finalize_xof())
    }
}

impl rand_core::TryRng for BatchRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut bytes = [0; 4];
        self.0.fill(&mut bytes);
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut bytes = [0; 8];
        self.0.fill(&mut bytes);
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill(dst);
        Ok(())
    }
}

impl rand_core::TryCryptoRng for BatchRng {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_order_is_exactly_the_eight_torsion_points() {
        for y in SMALL_ORDER_Y {
            for sign in [0, 0x80] {
                let mut encoding = y;
                encoding[31] |= sign;
                if let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&encoding) {
                    assert!(key.is_weak(), "{encoding:?}");
                }
                assert!(is_small_order(&encoding));
            }
        }
        // A real key is not.
        let key = crate::tx::Keypair::from_seed([7; 32]);
        assert!(!is_small_order(&key.public().0));
    }

    #[test]
    fn canonical_encodings_are_those_below_p() {
        let mut p = [0xff; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!is_canonical(&p));
        let mut below = p;
        below[0] = 0xec;
        assert!(is_canonical(&below));
        let mut above = p;
        above[0] = 0xf0;
        above[31] = 0xff; // the sign bit does not matter
        assert!(!is_canonical(&above));
        assert!(is_canonical(&[3; 32]));
    }

    #[test]
    fn a_batch_names_the_first_bad_signature() {
        use ed25519_dalek::Signer as _;
        let keys: Vec<_> = (0..20u8)
            .map(|n| ed25519_dalek::SigningKey::from_bytes(&[n; 32]))
            .collect();
        let messages: Vec<Vec<u8>> = (0..20u8).map(|n| vec![n; 10]).collect();
        let signers: Vec<[u8; 32]> = keys.iter().map(|k| k.verifying_key().to_bytes()).collect();
        let mut signatures: Vec<[u8; 64]> = keys
            .iter()
            .zip(&messages)
            .map(|(key, message)| key.sign(message).to_bytes())
            .collect();
        let items = |signatures: &[[u8; 64]]| -> Result<(), (usize, LedgerError)> {
            let items: Vec<_> = signers
                .iter()
                .zip(signatures)
                .zip(&messages)
                .map(|((signer, signature), message)| (signer, signature, message.clone()))
                .collect();
            verify_all(&items)
        };
        assert_eq!(items(&signatures), Ok(()));
        signatures[13][40] ^= 1;
        signatures[17][2] ^= 1;
        assert_eq!(items(&signatures), Err((13, LedgerError::BadSignature)));
    }

    fn signed(seed: u8, message: &[u8]) -> ([u8; 32], [u8; 64]) {
        use ed25519_dalek::Signer as _;
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        (key.verifying_key().to_bytes(), key.sign(message).to_bytes())
    }

    #[test]
    fn small_order_r_and_non_canonical_s_are_refused() {
        let message = b"a transaction";
        let (signer, signature) = signed(1, message);
        assert_eq!(verify(&signer, &signature, message), Ok(()));
        for y in SMALL_ORDER_Y {
            let mut bad = signature;
            bad[..32].copy_from_slice(&y);
            assert_eq!(
                verify(&signer, &bad, message),
                Err(LedgerError::BadSignature)
            );
        }
        // s + l: the same scalar, not in its one encoding.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut bad = signature;
        let mut carry = 0u16;
        for (byte, l) in bad[32..].iter_mut().zip(L) {
            let sum = u16::from(*byte) + u16::from(l) + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(
            verify(&signer, &bad, message),
            Err(LedgerError::BadSignature)
        );
        assert!(verify_all(&[(&signer, &bad, message.to_vec())]).is_err());
    }

    /// Whatever the bytes, a batch and a single check agree, and every
    /// signature `verify_strict` accepts is accepted.
    #[test]
    fn batches_single_checks_and_strict_verification_agree() {
        let message = b"a transaction".to_vec();
        let (signer, signature) = signed(2, &message);
        let strict = |signer: &[u8; 32], signature: &[u8; 64]| {
            ed25519_dalek::VerifyingKey::from_bytes(signer).is_ok_and(|key| {
                !key.is_weak()
                    && key
                        .verify_strict(&message, &ed25519_dalek::Signature::from_bytes(signature))
                        .is_ok()
            })
        };
        for bit in 0..(64 * 8) {
            let mut mutated = signature;
            mutated[bit / 8] ^= 1 << (bit % 8);
            let single = verify(&signer, &mutated, &message).is_ok();
            let batch = verify_all(&[(&signer, &mutated, message.clone())]).is_ok();
            assert_eq!(single, batch, "bit {bit}");
            assert!(!strict(&signer, &mutated) || single, "bit {bit}");
        }
        for bit in 0..(32 * 8) {
            let mut mutated = signer;
            mutated[bit / 8] ^= 1 << (bit % 8);
            let single = verify(&mutated, &signature, &message).is_ok();
            let batch = verify_all(&[(&mutated, &signature, message.clone())]).is_ok();
            assert_eq!(single, batch, "bit {bit}");
        }
        assert!(strict(&signer, &signature));
        assert_eq!(verify(&signer, &signature, &message), Ok(()));
    }
}
