//! The Proof-of-Value state machine at the center of stigmer: pure,
//! deterministic, with no I/O, clock, randomness or binary floats.
//!
//! # Overview
//!
//! A [`State`] holds decentralized cooperatives ([`Dc`]s), their members,
//! contributions and evaluations. [`State::apply`] applies one
//! [`Operation`] on behalf of an authenticated signer and either changes the
//! state and returns a [`Receipt`], or refuses with a [`ProtocolError`] and
//! changes nothing. Nodes that apply the same operations in the same order
//! hold identical states, bit for bit: amounts are [`Fixed`] decimals,
//! collections are ordered, and fractional powers are computed with integer
//! arithmetic only.
//!
//! # Transitions
//!
//! - `CreateDc`: a DC with its name, token, [`RuleSet`], parameters,
//!   contribution types and founders (the genesis allocation). The signer is
//!   its steward.
//! - `Join` / `Leave`: anyone may join (with the DC's initial reputation and
//!   tokens) and leave; a member who left keeps its record, which counts no
//!   more, and gets it back on joining again.
//! - `Contribute`: pays the type's fee into the treasury; the contribution
//!   starts with the type's evaluator fund.
//! - `Evaluate`: stake, redistribution to agreeing evaluators, issuance to the
//!   contributor, by the rules of `PROTOCOL.md` (see [`evaluation`]).
//! - `Thank`: recorded and shown, never scored; the only way to respond to a
//!   thanks-only contribution.
//! - `Transfer`: moves tokens. Reputation is never transferable: asking is an
//!   error.
//! - `AsDc`: the steward acts with the DC's own account, so a DC can be a
//!   member of another DC.
//!
//! # Properties
//!
//! - A refused operation leaves the state unchanged.
//! - Reputation is never negative (amounts are unsigned).
//! - Per DC, tokens held plus the treasury equal the tokens ever minted:
//!   allocations at genesis or on joining, evaluator rewards and issuance.
//! - `total_reputation` is the exact sum of active members' reputation.
//! - Every change to an account is a log entry, handed out in the receipt of
//!   the operation that caused
//!   it; evaluations keep the figures they were weighed with.
//!
//! # Deviations from the reference implementation
//!
//! `backfeed-classic` follows Backfeed's reference order of operations, with
//! exact decimals instead of binary floats (results agree to far better than
//! the 1e-9 the conformance vectors ask). An up-vote in a DC with no
//! reputation at all is refused, where the reference divides by zero.
//! Leaving a DC does not exist in the reference.
//!
//! # Example
//!
//! ```
//! use stigmer_protocol::{AgentId, DcId, Fixed, Operation, State};
//!
//! let mut state = State::new();
//! let ann = AgentId::new("ann").unwrap();
//! let festival = DcId::new("festival").unwrap();
//! let create = stigmer_protocol::CreateDc {
//!     id: festival.clone(),
//!     name: "Summer festival".into(),
//!     token_symbol: "FEST".into(),
//!     params: Default::default(),
//!     types: [("stage".parse().unwrap(), Default::default())].into(),
//!     founders: vec![stigmer_protocol::Founder {
//!         agent: ann.clone(),
//!         reputation: Fixed::from_int(10),
//!         tokens: Fixed::from_int(10),
//!         referrer: None,
//!     }],
//! };
//! state.apply(&ann, &Operation::CreateDc(create)).unwrap();
//! let error = state
//!     .apply(&ann, &Operation::Transfer {
//!         dc: festival,
//!         to: AgentId::new("bo").unwrap(),
//!         amount: Fixed::ONE,
//!         asset: stigmer_protocol::Asset::Reputation,
//!     })
//!     .unwrap_err();
//! assert_eq!(error, stigmer_protocol::ProtocolError::ReputationNotTransferable);
//! ```

pub mod error;
pub mod evaluation;
pub mod fixed;
pub mod ids;
pub mod limits;
pub mod op;
pub mod params;
pub mod scenario;
pub mod state;
mod transition;
pub mod workload;

pub use error::ProtocolError;
pub use fixed::Fixed;
pub use ids::{AgentId, ContributionId, DcId, TypeName};
pub use op::{Asset, CreateDc, Founder, Operation, Receipt, Touched};
pub use params::{ContributionType, DcParams, RuleSet};
pub use state::{Contribution, Dc, Evaluation, Event, LogEntry, Logs, Member, MemberStatus, State};
