//! Every bound the protocol enforces, in one place, unit last.
//!
//! Bounds keep every loop and every allocation driven by user or peer input
//! finite, and they are part of the protocol: two nodes with different limits
//! would accept different transactions and fork.

use crate::Fixed;

/// Longest agent id, in bytes. Ed25519 public keys in hex take 64.
pub const AGENT_ID_BYTES_MAX: u32 = 64;
/// Longest DC id, in bytes.
pub const DC_ID_BYTES_MAX: u32 = 32;
/// Longest contribution id, in bytes.
pub const CONTRIBUTION_ID_BYTES_MAX: u32 = 64;
/// Longest contribution type name, in bytes.
pub const TYPE_NAME_BYTES_MAX: u32 = 32;
/// Longest DC name, in bytes.
pub const DC_NAME_BYTES_MAX: u32 = 80;
/// Longest token symbol, in bytes.
pub const TOKEN_SYMBOL_BYTES_MAX: u32 = 12;
/// Longest contribution title, in bytes.
pub const TITLE_BYTES_MAX: u32 = 200;
/// Most contribution types a DC may define.
pub const CONTRIBUTION_TYPES_MAX: u32 = 32;
/// Most values an evaluation set may hold (a 0..=10 scale needs 11).
pub const EVALUATION_SET_LEN_MAX: u32 = 16;
/// Most founders a DC genesis may name.
pub const FOUNDERS_MAX: u32 = 1_000;
/// Most members (including token holders) one DC may record. Indices are `u32`.
pub const MEMBERS_MAX: u32 = 1_000_000;
/// Most contributions one DC may record.
pub const CONTRIBUTIONS_MAX: u32 = 10_000_000;
/// Most evaluations (current and superseded) one contribution may record.
pub const EVALUATIONS_PER_CONTRIBUTION_MAX: u32 = 1_000_000;
/// Largest amount a parameter, allocation or transfer may name: a thousand
/// trillion. Balances may grow past it through rewards; arithmetic stays
/// checked all the way to `Fixed::MAX`.
pub const AMOUNT_MAX: Fixed = Fixed::from_int(1_000_000_000_000_000);
/// Largest fee exponent `beta`. `x^beta` for larger exponents is zero for any
/// useful share of engaged reputation, so larger values only hide mistakes.
pub const BETA_MAX: Fixed = Fixed::from_int(16);

/// Transactions per hour a key may have in blocks while it has no standing
/// (not an active member of any DC): enough to found a DC or join a few and
/// look around, not enough to fill the ledger for free. Caps instead of
/// fees (`ECOSYSTEM.md` §0.6): fees would shut out people with no money.
pub const TXS_PER_HOUR_NEWCOMER: u32 = 20;
/// Transactions per hour of an active member of at least one DC.
pub const TXS_PER_HOUR_MEMBER: u32 = 7_200;
/// More transactions per hour for each whole unit of reputation a member
/// holds, summed over the DCs where it is active.
pub const TXS_PER_HOUR_PER_REPUTATION: u32 = 360;
/// The most transactions per hour any key may have in blocks.
pub const TXS_PER_HOUR_MAX: u32 = 72_000;
/// The length of an allowance's window, in milliseconds of block time.
pub const ALLOWANCE_WINDOW_MS: u64 = 3_600_000;

const _: () = assert!(
    AGENT_ID_BYTES_MAX >= 64,
    "hex-encoded ed25519 keys must fit"
);
const _: () = assert!(EVALUATION_SET_LEN_MAX >= 11);
