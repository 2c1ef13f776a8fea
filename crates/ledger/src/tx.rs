//! Signed transactions: who (an ed25519 key), in which order (a per-account
//! nonce), on which ledger (a chain id), what (an operation).
//!
//! The signature covers a domain tag and the canonical encoding of the
//! transaction, so a signature made for another purpose, another chain or
//! another nonce never verifies here.

use ed25519_dalek::Signer;
use stigmer_protocol::{AgentId, Operation};

use crate::codec::{Decoder, Encoder};
use crate::{Hash, LedgerError};

/// Largest encoded transaction, in bytes.
pub const TX_BYTES_MAX: u32 = 64 * 1024;
/// Longest chain id, in bytes.
pub const CHAIN_ID_BYTES_MAX: u32 = 64;
/// Version byte leading every encoded transaction.
pub const TX_VERSION: u8 = 1;
/// Prefixed to the bytes a transaction signature covers.
pub const TX_SIGNING_DOMAIN: &[u8] = b"stigmer/transaction/v1\0";

/// An ed25519 public key: an agent's identity. Its hex form is the agent id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    pub fn agent(&self) -> AgentId {
        AgentId::new(&hex(&self.0)).expect("64 hex digits are a valid agent id")
    }

    /// Parses an agent id that is a hex public key.
    pub fn from_agent(agent: &AgentId) -> Option<PublicKey> {
        unhex::<32>(agent.as_str()).map(PublicKey)
    }
}

impl core::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl core::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

/// A private signing key. It never leaves the machine that made it.
pub struct Keypair(ed25519_dalek::SigningKey);

impl Keypair {
    /// A new key from the operating system's randomness.
    pub fn generate() -> Result<Keypair, LedgerError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| LedgerError::Randomness(e.to_string()))?;
        Ok(Keypair::from_seed(seed))
    }

    pub fn from_seed(seed: [u8; 32]) -> Keypair {
        Keypair(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    pub fn agent(&self) -> AgentId {
        self.public().agent()
    }

    /// Signs a transaction for this key's account.
    pub fn sign(&self, chain_id: &str, nonce: u64, operation: Operation) -> SignedTransaction {
        let transaction = Transaction {
            chain_id: chain_id.to_string(),
            signer: self.public(),
            nonce,
            operation,
        };
        let signature = self.0.sign(&transaction.signing_bytes()).to_bytes();
        SignedTransaction {
            transaction,
            signature,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    pub chain_id: String,
    pub signer: PublicKey,
    /// The signer's count of earlier transactions on this chain.
    pub nonce: u64,
    pub operation: Operation,
}

impl Transaction {
    fn encode_into(&self, encoder: &mut Encoder) {
        encoder.u8(TX_VERSION);
        encoder.str(&self.chain_id);
        encoder.raw(&self.signer.0);
        encoder.u64(self.nonce);
        encoder.operation(&self.operation);
    }

    pub(crate) fn signing_bytes(&self) -> Vec<u8> {
        let mut encoder = Encoder::new();
        encoder.raw(TX_SIGNING_DOMAIN);
        self.encode_into(&mut encoder);
        encoder.finish()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTransaction {
    pub transaction: Transaction,
    pub signature: [u8; 64],
}

impl SignedTransaction {
    pub fn encode(&self) -> Vec<u8> {
        let mut encoder = Encoder::new();
        self.encode_into(&mut encoder);
        encoder.finish()
    }

    pub(crate) fn encode_into(&self, encoder: &mut Encoder) {
        self.transaction.encode_into(encoder);
        encoder.raw(&self.signature);
    }

    /// Decodes a transaction that must fill `bytes` exactly. Checks the
    /// encoding only; [`SignedTransaction::verify_signature`] checks the
    /// signature.
    pub fn decode(bytes: &[u8]) -> Result<SignedTransaction, LedgerError> {
        SignedTransaction::decode_with(Decoder::new(bytes))
    }

    /// Decodes with `decoder`'s mode (strict, or lenient for stored blocks:
    /// see [`crate::codec`]); the size limit binds only strictly.
    pub(crate) fn decode_with(mut decoder: Decoder<'_>) -> Result<SignedTransaction, LedgerError> {
        let bytes = decoder.remaining();
        if decoder.is_strict() && bytes > TX_BYTES_MAX as usize {
            return Err(LedgerError::TxTooLarge {
                bytes: bytes as u64,
                max: TX_BYTES_MAX,
            });
        }
        let transaction = SignedTransaction::decode_from(&mut decoder)?;
        decoder.finish()?;
        Ok(transaction)
    }

    pub(crate) fn decode_from(decoder: &mut Decoder<'_>) -> Result<SignedTransaction, LedgerError> {
        let version = decoder.u8("transaction version")?;
        if version != TX_VERSION {
            return Err(LedgerError::UnknownVersion {
                what: "transaction",
                version,
            });
        }
        let chain_id = decoder.str("chain id", CHAIN_ID_BYTES_MAX)?.to_string();
        let signer = PublicKey(decoder.array("signer")?);
        let nonce = decoder.u64("nonce")?;
        let operation = decoder.operation()?;
        let signature = decoder.array("signature")?;
        Ok(SignedTransaction {
            transaction: Transaction {
                chain_id,
                signer,
                nonce,
                operation,
            },
            signature,
        })
    }

    /// Checks the signature under the one rule of `signature.rs`: every
    /// node must accept exactly the same signatures, on every path.
    pub fn verify_signature(&self) -> Result<(), LedgerError> {
        crate::signature::verify(
            &self.transaction.signer.0,
            &self.signature,
            &self.transaction.signing_bytes(),
        )
    }

    /// The transaction's id: the hash of its encoding, signature included.
    pub fn hash(&self) -> Hash {
        Hash::of(&self.encode())
    }

    pub fn signer(&self) -> AgentId {
        self.transaction.signer.agent()
    }

    /// Checks that the transaction is canonical and correctly signed, once,
    /// for a pool to hold and a proposer to include it without checking it
    /// again (neither depends on the state).
    ///
    /// Canonical means: its encoding is at most [`TX_BYTES_MAX`] bytes and
    /// decodes, under every limit of the codec, back to this very
    /// transaction. A transaction built from its JSON form may hold values
    /// the codec refuses (a title too long, a nested `AsDc`...); such a
    /// transaction would be undecodable once in a block, so it never gets
    /// this far. Whatever path a transaction takes (JSON, encoded bytes,
    /// gossip, forwarding), this is the one check it passes.
    pub fn verified(self) -> Result<VerifiedTransaction, LedgerError> {
        let encoded = self.encode();
        let decoded = SignedTransaction::decode(&encoded).map_err(|error| match error {
            LedgerError::Malformed { what, .. } => LedgerError::BeyondLimits(what),
            other => other,
        })?;
        if decoded != self {
            return Err(LedgerError::NotCanonical);
        }
        self.verify_signature()?;
        let hash = Hash::of(&encoded);
        Ok(VerifiedTransaction {
            tx: self,
            encoded: encoded.into(),
            hash,
        })
    }

    /// Decodes canonical bytes and checks the signature: [`SignedTransaction::decode`]
    /// then [`SignedTransaction::verified`].
    pub fn decode_verified(bytes: &[u8]) -> Result<VerifiedTransaction, LedgerError> {
        SignedTransaction::decode(bytes)?.verified()
    }
}

/// A transaction that is canonical and whose signature has been checked;
/// only [`SignedTransaction::verified`] makes one. It keeps its canonical
/// bytes and hash, computed once, so pools and gossip never encode or hash
/// it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTransaction {
    tx: SignedTransaction,
    encoded: std::sync::Arc<[u8]>,
    hash: Hash,
}

impl VerifiedTransaction {
    pub fn into_inner(self) -> SignedTransaction {
        self.tx
    }

    /// The canonical encoding (what the hash and a block hold).
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// The canonical encoding, shared without copying.
    pub fn encoded_shared(&self) -> std::sync::Arc<[u8]> {
        self.encoded.clone()
    }

    /// The transaction's id, computed once.
    pub fn hash(&self) -> Hash {
        self.hash
    }
}

impl std::ops::Deref for VerifiedTransaction {
    type Target = SignedTransaction;

    fn deref(&self) -> &SignedTransaction {
        &self.tx
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 15)] as char);
    }
    text
}

/// Parses any number of bytes of lower- or upper-case hex.
pub fn unhex_vec(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Parses exactly `N` bytes of lower- or upper-case hex.
pub fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let nibble = |digit: u8| (digit as char).to_digit(16).map(|d| d as u8);
    let mut bytes = [0u8; N];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = nibble(digits[2 * index])? << 4 | nibble(digits[2 * index + 1])?;
    }
    Some(bytes)
}
