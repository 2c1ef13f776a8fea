//! The canonical binary encoding of operations, transactions and blocks.
//!
//! One value has exactly one encoding, so hashes and signatures are over
//! bytes every node agrees on. Layout (`docs/design.md` has the tables):
//! integers little-endian and fixed-width, `Fixed` as its raw `u128`,
//! strings and sequences as a `u32` length then the items, `Option` and
//! `bool` as one byte that must be 0 or 1, maps as sorted, distinct keys.
//! Decoding checks every length against a limit before allocating and
//! refuses anything non-canonical or left over.
//!
//! Two modes. [`Decoder::new`] is *strict*: every limit of the protocol,
//! text without control characters, accounts in their canonical form (an
//! ed25519 key in lower-case hex, or `dc:<id>`). Everything that enters a
//! pool or a block is held to it ([`crate::tx::SignedTransaction::verified`]
//! and [`crate::block::Block::decode`]). [`Decoder::stored`] is *lenient*:
//! it reads any bytes this encoder could have produced, bounded only by the
//! sizes of what holds them. It reads back blocks a federation already
//! finalized, so that a block written by an older version, before these
//! limits were enforced on every path, never makes a node unable to read its
//! own history (`docs/SECURITY.md`, "A block that cannot be read back").

use std::collections::BTreeMap;

use stigmer_protocol::ids::has_forbidden_char;
use stigmer_protocol::limits::{
    AGENT_ID_BYTES_MAX, CONTRIBUTION_ID_BYTES_MAX, CONTRIBUTION_TYPES_MAX, DC_ID_BYTES_MAX,
    DC_NAME_BYTES_MAX, EVALUATION_SET_LEN_MAX, FOUNDERS_MAX, TITLE_BYTES_MAX,
    TOKEN_SYMBOL_BYTES_MAX, TYPE_NAME_BYTES_MAX,
};
use stigmer_protocol::{
    AgentId, Asset, ContributionId, ContributionType, CreateDc, DcId, DcParams, Fixed, Founder,
    Operation, RuleSet, TypeName,
};

use crate::LedgerError;

#[derive(Default)]
pub struct Encoder {
    bytes: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// An encoder with room for `bytes` bytes: one allocation for a value
    /// whose size is known.
    pub fn with_capacity(bytes: usize) -> Encoder {
        Encoder {
            bytes: Vec::with_capacity(bytes),
        }
    }

    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }

    /// What is encoded so far, for an encoder reused with [`Encoder::clear`].
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Empties the encoder, keeping its buffer: encoding many small values
    /// in a row then allocates once.
    pub fn clear(&mut self) {
        self.bytes.clear();
    }

    pub fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    pub fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub fn fixed(&mut self, value: Fixed) {
        self.bytes.extend_from_slice(&value.raw().to_le_bytes());
    }

    pub fn bool(&mut self, value: bool) {
        self.u8(u8::from(value));
    }

    pub fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Lengths are bounded by the limits long before `u32::MAX`.
    pub fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }

    pub fn str(&mut self, text: &str) {
        self.len(text.len());
        self.raw(text.as_bytes());
    }

    pub fn operation(&mut self, operation: &Operation) {
        match operation {
            Operation::CreateDc(create) => {
                self.u8(0);
                self.create_dc(create);
            }
            Operation::Join { dc, referrer } => {
                self.u8(1);
                self.str(dc.as_str());
                self.option_str(referrer.as_ref().map(AgentId::as_str));
            }
            Operation::Leave { dc } => {
                self.u8(2);
                self.str(dc.as_str());
            }
            Operation::Contribute {
                dc,
                id,
                kind,
                title,
            } => {
                self.u8(3);
                self.str(dc.as_str());
                self.str(id.as_str());
                self.str(kind.as_str());
                self.str(title);
            }
            Operation::Evaluate {
                dc,
                contribution,
                value,
            } => {
                self.u8(4);
                self.str(dc.as_str());
                self.str(contribution.as_str());
                self.fixed(*value);
            }
            Operation::Thank { dc, contribution } => {
                self.u8(5);
                self.str(dc.as_str());
                self.str(contribution.as_str());
            }
            Operation::Transfer {
                dc,
                to,
                amount,
                asset,
            } => {
                self.u8(6);
                self.str(dc.as_str());
                self.str(to.as_str());
                self.fixed(*amount);
                self.u8(match asset {
                    Asset::Tokens => 0,
                    Asset::Reputation => 1,
                });
            }
            Operation::AsDc { dc, operation } => {
                self.u8(7);
                self.str(dc.as_str());
                self.operation(operation);
            }
        }
    }

    fn option_str(&mut self, text: Option<&str>) {
        match text {
            None => self.u8(0),
            Some(text) => {
                self.u8(1);
                self.str(text);
            }
        }
    }

    /// A DC's parameters and contribution types: in `CreateDc` and in the
    /// DC's state leaf alike.
    pub fn dc_rules(&mut self, params: &DcParams, types: &BTreeMap<TypeName, ContributionType>) {
        self.u8(match params.rules {
            RuleSet::BackfeedClassic => 0,
            RuleSet::Backfeed => 1,
        });
        self.fixed(params.beta);
        self.fixed(params.referral_fraction);
        self.bool(params.reward_evaluators_with_tokens);
        self.fixed(params.initial_reputation);
        self.fixed(params.initial_tokens);
        self.len(types.len());
        for (name, kind) in types {
            self.str(name.as_str());
            self.fixed(kind.fee);
            self.fixed(kind.stake);
            self.fixed(kind.distribution_stake);
            self.fixed(kind.reward_threshold);
            self.fixed(kind.token_reward_factor);
            self.fixed(kind.reputation_reward_factor);
            self.len(kind.evaluation_set.len());
            for value in &kind.evaluation_set {
                self.fixed(*value);
            }
            self.fixed(kind.evaluator_token_fund);
            self.bool(kind.thanks_only);
        }
    }

    fn create_dc(&mut self, create: &CreateDc) {
        self.str(create.id.as_str());
        self.str(&create.name);
        self.str(&create.token_symbol);
        self.dc_rules(&create.params, &create.types);
        self.len(create.founders.len());
        for founder in &create.founders {
            self.str(founder.agent.as_str());
            self.fixed(founder.reputation);
            self.fixed(founder.tokens);
            self.option_str(founder.referrer.as_ref().map(AgentId::as_str));
        }
    }
}

pub struct Decoder<'b> {
    bytes: &'b [u8],
    position: usize,
    strict: bool,
}

/// Deepest `AsDc` nesting the lenient decoder reads back (the strict one
/// refuses any nesting): bounded, because the input is still untrusted.
const STORED_NESTING_MAX: u32 = 8;

impl<'b> Decoder<'b> {
    /// A strict decoder: every limit holds.
    pub fn new(bytes: &'b [u8]) -> Decoder<'b> {
        Decoder {
            bytes,
            position: 0,
            strict: true,
        }
    }

    /// A lenient decoder for blocks already finalized (see the module doc).
    pub fn stored(bytes: &'b [u8]) -> Decoder<'b> {
        Decoder {
            bytes,
            position: 0,
            strict: false,
        }
    }

    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    /// A decoder of the same mode over the next `n` bytes, which it skips.
    pub fn sub(&mut self, n: usize, what: &str) -> Result<Decoder<'b>, LedgerError> {
        let bytes = self.take(n, what)?;
        Ok(Decoder {
            bytes,
            position: 0,
            strict: self.strict,
        })
    }

    fn malformed(&self, what: &str) -> LedgerError {
        LedgerError::Malformed {
            what: what.to_string(),
            offset: self.position as u64,
        }
    }

    /// Fails unless every byte was read.
    pub fn finish(self) -> Result<(), LedgerError> {
        if self.position != self.bytes.len() {
            return Err(self.malformed("trailing bytes after the end"));
        }
        Ok(())
    }

    pub fn take(&mut self, n: usize, what: &str) -> Result<&'b [u8], LedgerError> {
        let end = self
            .position
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.malformed(&format!("{what}: unexpected end of input")))?;
        let slice = &self.bytes[self.position..end];
        self.position = end;
        Ok(slice)
    }

    pub fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], LedgerError> {
        let slice = self.take(N, what)?;
        let mut array = [0u8; N];
        array.copy_from_slice(slice);
        Ok(array)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, LedgerError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, LedgerError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64, LedgerError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub fn fixed(&mut self, what: &str) -> Result<Fixed, LedgerError> {
        Ok(Fixed::from_raw(u128::from_le_bytes(self.array(what)?)))
    }

    pub fn bool(&mut self, what: &str) -> Result<bool, LedgerError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.malformed(&format!("{what}: a boolean must be 0 or 1"))),
        }
    }

    /// A length, checked against `max` before anything is allocated. The
    /// lenient decoder checks it against the bytes left instead (every item
    /// takes at least one), which still bounds any allocation by the input.
    pub fn len(&mut self, what: &str, max: u32) -> Result<usize, LedgerError> {
        let n = self.u32(what)?;
        if self.strict && n > max {
            return Err(self.malformed(&format!("{what}: {n} exceeds the maximum of {max}")));
        }
        if n as usize > self.bytes.len() - self.position {
            return Err(self.malformed(&format!("{what}: {n} is more than the bytes left")));
        }
        Ok(n as usize)
    }

    /// A string of at most `max_bytes` bytes of UTF-8.
    pub fn str(&mut self, what: &str, max_bytes: u32) -> Result<&'b str, LedgerError> {
        let n = self.len(what, max_bytes)?;
        let bytes = self.take(n, what)?;
        std::str::from_utf8(bytes).map_err(|_| self.malformed(&format!("{what}: not UTF-8")))
    }

    /// Text people read (a title, a name): a string without control
    /// characters, which could rewrite a terminal or hide text.
    fn text(&mut self, what: &str, max_bytes: u32) -> Result<&'b str, LedgerError> {
        let text = self.str(what, max_bytes)?;
        if self.strict && has_forbidden_char(text) {
            return Err(self.malformed(&format!(
                "{what}: contains a control or bidirectional-override character"
            )));
        }
        Ok(text)
    }

    /// An account: strictly, an ed25519 key in lower-case hex (an id
    /// someone holds the key of) or a DC's account `dc:<id>`; anything else
    /// names an account nobody controls, and tokens sent there are lost.
    fn agent(&mut self, what: &str) -> Result<AgentId, LedgerError> {
        let text = self.str(what, AGENT_ID_BYTES_MAX)?;
        if self.strict {
            parse_account(text).map_err(|reason| self.malformed(&format!("{what}: {reason}")))
        } else if let Some(dc) = text.strip_prefix(stigmer_protocol::ids::DC_AGENT_PREFIX) {
            Ok(AgentId::of_dc(&DcId::new(dc)?))
        } else {
            Ok(AgentId::new(text)?)
        }
    }

    fn option_agent(&mut self, what: &str) -> Result<Option<AgentId>, LedgerError> {
        match self.u8(what)? {
            0 => Ok(None),
            1 => Ok(Some(self.agent(what)?)),
            _ => Err(self.malformed(&format!("{what}: an option tag must be 0 or 1"))),
        }
    }

    fn dc(&mut self) -> Result<DcId, LedgerError> {
        Ok(DcId::new(self.str("DC id", DC_ID_BYTES_MAX)?)?)
    }

    fn contribution(&mut self) -> Result<ContributionId, LedgerError> {
        Ok(ContributionId::new(
            self.str("contribution id", CONTRIBUTION_ID_BYTES_MAX)?,
        )?)
    }

    pub fn operation(&mut self) -> Result<Operation, LedgerError> {
        self.operation_nested(0)
    }

    fn operation_nested(&mut self, depth: u32) -> Result<Operation, LedgerError> {
        let may_nest = if self.strict {
            depth == 0
        } else {
            depth < STORED_NESTING_MAX
        };
        let tag = self.u8("operation")?;
        Ok(match tag {
            0 => Operation::CreateDc(self.create_dc()?),
            1 => Operation::Join {
                dc: self.dc()?,
                referrer: self.option_agent("referrer")?,
            },
            2 => Operation::Leave { dc: self.dc()? },
            3 => Operation::Contribute {
                dc: self.dc()?,
                id: self.contribution()?,
                kind: TypeName::new(self.str("contribution type", TYPE_NAME_BYTES_MAX)?)?,
                title: self.text("title", TITLE_BYTES_MAX)?.to_string(),
            },
            4 => Operation::Evaluate {
                dc: self.dc()?,
                contribution: self.contribution()?,
                value: self.fixed("value")?,
            },
            5 => Operation::Thank {
                dc: self.dc()?,
                contribution: self.contribution()?,
            },
            6 => Operation::Transfer {
                dc: self.dc()?,
                to: self.agent("receiver")?,
                amount: self.fixed("amount")?,
                asset: match self.u8("asset")? {
                    0 => Asset::Tokens,
                    1 => Asset::Reputation,
                    _ => return Err(self.malformed("asset: unknown")),
                },
            },
            // One level only: a DC acting for a DC acting for... is refused
            // here rather than recursing on untrusted input.
            7 if may_nest => Operation::AsDc {
                dc: self.dc()?,
                operation: Box::new(self.operation_nested(depth + 1)?),
            },
            _ => return Err(self.malformed(&format!("operation: unknown tag {tag}"))),
        })
    }

    fn create_dc(&mut self) -> Result<CreateDc, LedgerError> {
        let id = self.dc()?;
        let name = self.text("name", DC_NAME_BYTES_MAX)?.to_string();
        let token_symbol = self
            .text("token symbol", TOKEN_SYMBOL_BYTES_MAX)?
            .to_string();
        let rules = match self.u8("rules")? {
            0 => RuleSet::BackfeedClassic,
            1 => RuleSet::Backfeed,
            _ => return Err(self.malformed("rules: unknown rule set")),
        };
        let params = DcParams {
            rules,
            beta: self.fixed("beta")?,
            referral_fraction: self.fixed("referral fraction")?,
            reward_evaluators_with_tokens: self.bool("reward evaluators with tokens")?,
            initial_reputation: self.fixed("initial reputation")?,
            initial_tokens: self.fixed("initial tokens")?,
        };
        let n_types = self.len("contribution types", CONTRIBUTION_TYPES_MAX)?;
        let mut types = BTreeMap::new();
        let mut previous: Option<TypeName> = None;
        for _ in 0..n_types {
            let name = TypeName::new(self.str("contribution type", TYPE_NAME_BYTES_MAX)?)?;
            // Always checked: a map's keys are sorted and distinct whatever
            // built it.
            if previous.as_ref().is_some_and(|p| *p >= name) {
                return Err(self.malformed("contribution types: not in strictly increasing order"));
            }
            let mut kind = ContributionType {
                fee: self.fixed("fee")?,
                stake: self.fixed("stake")?,
                distribution_stake: self.fixed("distribution stake")?,
                reward_threshold: self.fixed("reward threshold")?,
                token_reward_factor: self.fixed("token reward factor")?,
                reputation_reward_factor: self.fixed("reputation reward factor")?,
                evaluation_set: Vec::new(),
                evaluator_token_fund: Fixed::ZERO,
                thanks_only: false,
            };
            let n_values = self.len("evaluation set", EVALUATION_SET_LEN_MAX)?;
            for _ in 0..n_values {
                kind.evaluation_set.push(self.fixed("evaluation value")?);
            }
            if self.strict
                && kind
                    .evaluation_set
                    .windows(2)
                    .any(|pair| pair[0] >= pair[1])
            {
                return Err(self.malformed("evaluation set: not in strictly increasing order"));
            }
            kind.evaluator_token_fund = self.fixed("evaluator token fund")?;
            kind.thanks_only = self.bool("thanks only")?;
            previous = Some(name.clone());
            types.insert(name, kind);
        }
        let n_founders = self.len("founders", FOUNDERS_MAX)?;
        let mut founders = Vec::with_capacity(n_founders);
        for _ in 0..n_founders {
            founders.push(Founder {
                agent: self.agent("founder")?,
                reputation: self.fixed("founder reputation")?,
                tokens: self.fixed("founder tokens")?,
                referrer: self.option_agent("founder referrer")?,
            });
        }
        Ok(CreateDc {
            id,
            name,
            token_symbol,
            params,
            types,
            founders,
        })
    }
}

/// Whether `text` is an ed25519 public key as an agent id: 64 lower-case hex
/// digits, the one spelling of a key (the upper-case spelling would be
/// another account).
pub fn is_canonical_key(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Reads an account as a transaction may name it: an agent id that is an
/// ed25519 key in its one spelling ([`is_canonical_key`]), or a DC's account
/// `dc:<id>`. The error says what is wrong, for the person who typed it.
pub fn parse_account(text: &str) -> Result<AgentId, String> {
    if let Some(dc) = text.strip_prefix(stigmer_protocol::ids::DC_AGENT_PREFIX) {
        return DcId::new(dc)
            .map(|dc| AgentId::of_dc(&dc))
            .map_err(|e| e.to_string());
    }
    if !is_canonical_key(text) {
        return Err(format!(
            "{:?} is not an account anyone holds the key of: use an agent id (an ed25519 \
             public key, 64 lower-case hex digits) or a DC's account dc:<id>",
            text.chars().take(80).collect::<String>()
        ));
    }
    // The one spelling of 32 bytes is not enough: they must be a key
    // someone can hold, a point of the curve, and not a weak one (of small
    // order), which anyone can sign for.
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
        let digits = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
        *byte = u8::from_str_radix(digits, 16).map_err(|e| e.to_string())?;
    }
    match ed25519_dalek::VerifyingKey::from_bytes(&bytes) {
        Err(_) => Err(format!(
            "{text} is not an ed25519 public key (not a point of the curve): nobody can \
             hold its key"
        )),
        Ok(key) if key.is_weak() => Err(format!(
            "{text} is a weak key (of small order), which anyone can sign for"
        )),
        Ok(_) => AgentId::new(text).map_err(|e| e.to_string()),
    }
}

/// Encodes an operation on its own.
pub fn encode_operation(operation: &Operation) -> Vec<u8> {
    let mut encoder = Encoder::new();
    encoder.operation(operation);
    encoder.finish()
}

/// Decodes an operation that must fill `bytes` exactly.
pub fn decode_operation(bytes: &[u8]) -> Result<Operation, LedgerError> {
    let mut decoder = Decoder::new(bytes);
    let operation = decoder.operation()?;
    decoder.finish()?;
    Ok(operation)
}
