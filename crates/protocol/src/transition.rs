//! Applying operations: validation first, then changes that cannot fail.
//!
//! Every handler reads and checks everything it needs (including every sum
//! that could overflow) before its first write, so a refused operation leaves
//! the state untouched without copying it.

use std::collections::BTreeMap;

use crate::error::OrOverflow;
use crate::ids::has_forbidden_char;
use crate::limits::{
    CONTRIBUTIONS_MAX, CONTRIBUTION_TYPES_MAX, DC_NAME_BYTES_MAX, FOUNDERS_MAX, MEMBERS_MAX,
    TITLE_BYTES_MAX, TOKEN_SYMBOL_BYTES_MAX,
};
use crate::op::{Asset, CreateDc, Log, Operation, Receipt, Touched};
use crate::params::check_amount;
use crate::state::{Contribution, Dc, Event, LogEntry, Member, MemberIdx, MemberStatus, Thanks};
use crate::{AgentId, ContributionId, DcId, Fixed, ProtocolError, State, TypeName};

/// Whether a handler applies an operation or only checks that it would be
/// accepted. A check runs every test the handler makes, in the same order,
/// and stops just before the first write: so `check` and `apply` cannot
/// disagree about what is refused, and a check changes nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    Apply,
    Check,
}

impl Mode {
    pub(crate) fn only_checks(self) -> bool {
        self == Mode::Check
    }
}

/// What a handler returns in [`Mode::Check`], where nothing was touched.
fn checked() -> Result<Touched, ProtocolError> {
    Ok(Touched::members([]))
}

impl State {
    /// Applies `operation` signed by `signer`. On error the state is unchanged.
    pub fn apply(
        &mut self,
        signer: &AgentId,
        operation: &Operation,
    ) -> Result<Receipt, ProtocolError> {
        self.run(signer, operation, Mode::Apply)
    }

    /// Whether [`State::apply`] would accept `operation` now, with the same
    /// error if not; the state is left exactly as it was (it takes `&mut`
    /// only because the handlers it runs do). A node answers a transaction
    /// the state already refuses at once, instead of putting it in a block.
    pub fn check(&mut self, signer: &AgentId, operation: &Operation) -> Result<(), ProtocolError> {
        self.run(signer, operation, Mode::Check).map(|_| ())
    }

    fn run(
        &mut self,
        signer: &AgentId,
        operation: &Operation,
        mode: Mode,
    ) -> Result<Receipt, ProtocolError> {
        let op = self.n_ops;
        let mut log = Log::new();
        let (dc, touched) = match operation {
            Operation::CreateDc(create) => (
                create.id.clone(),
                self.create_dc(op, signer, create, mode, &mut log)?,
            ),
            Operation::AsDc { dc, operation } => {
                let steward = &self.dc_ref(dc)?.steward;
                if steward != signer {
                    return Err(ProtocolError::NotSteward {
                        agent: signer.clone(),
                        dc: dc.clone(),
                    });
                }
                if let Operation::Join { dc: parent, .. } = &**operation {
                    if parent == dc {
                        return Err(ProtocolError::DcJoiningItself);
                    }
                }
                self.apply_member_operation(op, &AgentId::of_dc(dc), operation, mode, &mut log)?
            }
            _ => self.apply_member_operation(op, signer, operation, mode, &mut log)?,
        };
        if !mode.only_checks() {
            self.n_ops += 1;
        }
        Ok(Receipt {
            op,
            dc,
            touched,
            log,
        })
    }

    /// Opens an account with an explicit allocation, outside of any signed
    /// operation: for a ledger's genesis and for offline scenarios, which set
    /// each agent's starting reputation and tokens. A DC's founders go through
    /// the same path.
    pub fn admit(
        &mut self,
        dc: &DcId,
        agent: &AgentId,
        reputation: Fixed,
        tokens: Fixed,
        referrer: Option<&AgentId>,
    ) -> Result<Receipt, ProtocolError> {
        let op = self.n_ops;
        check_amount("reputation", reputation)?;
        check_amount("tokens", tokens)?;
        let dc_state = self.dc_ref(dc)?;
        if dc_state.member_index.contains_key(agent) {
            return Err(ProtocolError::AlreadyMember {
                agent: agent.clone(),
                dc: dc.clone(),
            });
        }
        let referrer = resolve_referrer(dc_state, agent, referrer)?;
        let total_reputation = dc_state
            .total_reputation
            .checked_add(reputation)
            .or_overflow()?;
        let token_supply = dc_state.token_supply.checked_add(tokens).or_overflow()?;
        check_room(dc_state)?;

        let dc_state = self.dc_mut(dc)?;
        dc_state.total_reputation = total_reputation;
        dc_state.token_supply = token_supply;
        let event = Event::Joined {
            reputation,
            tokens,
            referrer,
            founder: true,
        };
        let index = self.open_account(
            op,
            dc,
            agent,
            MemberStatus::Active,
            reputation,
            tokens,
            referrer,
        );
        self.n_ops += 1;
        Ok(Receipt {
            op,
            dc: dc.clone(),
            touched: Touched::members([index]),
            log: vec![(index, LogEntry { op, event })],
        })
    }

    /// Applies an operation that acts in one DC; returns that DC and what
    /// changed in it.
    fn apply_member_operation(
        &mut self,
        op: u64,
        agent: &AgentId,
        operation: &Operation,
        mode: Mode,
        log: &mut Log,
    ) -> Result<(DcId, Touched), ProtocolError> {
        let touched = match operation {
            Operation::Join { dc, referrer } => {
                self.join(op, agent, dc, referrer.as_ref(), mode, log)
            }
            Operation::Leave { dc } => self.leave(op, agent, dc, mode, log),
            Operation::Contribute {
                dc,
                id,
                kind,
                title,
            } => self.contribute(op, agent, dc, id, kind, title, mode, log),
            Operation::Evaluate {
                dc,
                contribution,
                value,
            } => {
                let dc_state = self.dc_mut(dc)?;
                let evaluator = active_member(dc_state, agent)?;
                crate::evaluation::evaluate(
                    dc_state,
                    op,
                    evaluator,
                    contribution,
                    *value,
                    mode,
                    log,
                )
            }
            Operation::Thank { dc, contribution } => {
                self.thank(op, agent, dc, contribution, mode, log)
            }
            Operation::Transfer {
                dc,
                to,
                amount,
                asset,
            } => self.transfer(op, agent, dc, to, *amount, *asset, mode, log),
            Operation::CreateDc(_) | Operation::AsDc { .. } => Err(ProtocolError::NotAllowedForDc),
        }?;
        let dc = match operation {
            Operation::Join { dc, .. }
            | Operation::Leave { dc }
            | Operation::Contribute { dc, .. }
            | Operation::Evaluate { dc, .. }
            | Operation::Thank { dc, .. }
            | Operation::Transfer { dc, .. }
            | Operation::AsDc { dc, .. } => dc.clone(),
            Operation::CreateDc(create) => create.id.clone(),
        };
        Ok((dc, touched))
    }

    fn create_dc(
        &mut self,
        op: u64,
        signer: &AgentId,
        create: &CreateDc,
        mode: Mode,
        log: &mut Log,
    ) -> Result<Touched, ProtocolError> {
        if self.dcs.contains_key(&create.id) {
            return Err(ProtocolError::DcExists(create.id.clone()));
        }
        check_text("name", &create.name, DC_NAME_BYTES_MAX)?;
        check_text("token symbol", &create.token_symbol, TOKEN_SYMBOL_BYTES_MAX)?;
        create.params.validate()?;
        if create.types.len() > CONTRIBUTION_TYPES_MAX as usize {
            return Err(ProtocolError::LimitExceeded {
                what: "the number of contribution types",
                max: CONTRIBUTION_TYPES_MAX.to_string(),
            });
        }
        let mut types = create.types.clone();
        for (name, kind) in &mut types {
            kind.validate(name.as_str())?;
        }
        if create.founders.len() > FOUNDERS_MAX as usize {
            return Err(ProtocolError::LimitExceeded {
                what: "the number of founders",
                max: FOUNDERS_MAX.to_string(),
            });
        }
        let mut dc = Dc {
            id: create.id.clone(),
            name: create.name.clone(),
            token_symbol: create.token_symbol.clone(),
            steward: signer.clone(),
            params: create.params.clone(),
            types,
            treasury: Fixed::ZERO,
            token_supply: Fixed::ZERO,
            total_reputation: Fixed::ZERO,
            created_op: op,
            members: Vec::new(),
            member_index: BTreeMap::new(),
            contributions: Vec::new(),
            contribution_index: BTreeMap::new(),
        };
        // Founders are admitted into the new DC before it is inserted, so a
        // bad founder leaves no DC behind (and no entry in `log`).
        let mut founded = Log::new();
        for founder in &create.founders {
            check_amount("founder reputation", founder.reputation)?;
            check_amount("founder tokens", founder.tokens)?;
            if dc.member_index.contains_key(&founder.agent) {
                return Err(ProtocolError::AlreadyMember {
                    agent: founder.agent.clone(),
                    dc: dc.id.clone(),
                });
            }
            let referrer = resolve_referrer(&dc, &founder.agent, founder.referrer.as_ref())?;
            dc.total_reputation = dc
                .total_reputation
                .checked_add(founder.reputation)
                .or_overflow()?;
            dc.token_supply = dc.token_supply.checked_add(founder.tokens).or_overflow()?;
            let index = push_member(
                &mut dc,
                op,
                &founder.agent,
                MemberStatus::Active,
                founder.reputation,
                founder.tokens,
                referrer,
            );
            founded.push((
                index,
                LogEntry {
                    op,
                    event: Event::Joined {
                        reputation: founder.reputation,
                        tokens: founder.tokens,
                        referrer,
                        founder: true,
                    },
                },
            ));
        }
        if mode.only_checks() {
            return checked();
        }
        log.append(&mut founded);
        let n_founders = dc.members.len() as u32;
        for founder in &create.founders {
            self.agents
                .entry(founder.agent.clone())
                .or_default()
                .insert(dc.id.clone());
        }
        self.dcs.insert(dc.id.clone(), dc);
        Ok(Touched::members(0..n_founders))
    }

    fn join(
        &mut self,
        op: u64,
        agent: &AgentId,
        dc: &DcId,
        referrer: Option<&AgentId>,
        mode: Mode,
        log: &mut Log,
    ) -> Result<Touched, ProtocolError> {
        let dc_state = self.dc_ref(dc)?;
        if let Some(index) = dc_state.member_index(agent) {
            let member = &dc_state.members[index as usize];
            match member.status {
                MemberStatus::Active => {
                    return Err(ProtocolError::AlreadyMember {
                        agent: agent.clone(),
                        dc: dc.clone(),
                    })
                }
                // Coming back restores the record, with no new allocation:
                // leaving and joining again must not mint anything.
                MemberStatus::Left => {
                    let total = dc_state
                        .total_reputation
                        .checked_add(member.reputation)
                        .or_overflow()?;
                    if mode.only_checks() {
                        return checked();
                    }
                    let dc_state = self.dc_mut(dc)?;
                    dc_state.total_reputation = total;
                    let member = &mut dc_state.members[index as usize];
                    member.status = MemberStatus::Active;
                    log.push((
                        index,
                        LogEntry {
                            op,
                            event: Event::Rejoined,
                        },
                    ));
                    return Ok(Touched::members([index]));
                }
                MemberStatus::Holder => {}
            }
        }
        let referrer = resolve_referrer(dc_state, agent, referrer)?;
        let reputation = dc_state.params.initial_reputation;
        let tokens = dc_state.params.initial_tokens;
        let total = dc_state
            .total_reputation
            .checked_add(reputation)
            .or_overflow()?;
        let supply = dc_state.token_supply.checked_add(tokens).or_overflow()?;
        let existing = dc_state.member_index(agent);
        let balance = match existing {
            Some(index) => dc_state.members[index as usize]
                .tokens
                .checked_add(tokens)
                .or_overflow()?,
            None => {
                check_room(dc_state)?;
                tokens
            }
        };
        let event = Event::Joined {
            reputation,
            tokens,
            referrer,
            founder: false,
        };
        if mode.only_checks() {
            return checked();
        }
        let dc_state = self.dc_mut(dc)?;
        dc_state.total_reputation = total;
        dc_state.token_supply = supply;
        let index = match existing {
            Some(index) => index,
            None => self.open_account(
                op,
                dc,
                agent,
                MemberStatus::Active,
                reputation,
                tokens,
                referrer,
            ),
        };
        let member = self.member_mut(dc, index);
        member.status = MemberStatus::Active;
        member.reputation = reputation;
        member.tokens = balance;
        member.referrer = referrer;
        member.joined_op = op;
        log.push((index, LogEntry { op, event }));
        Ok(Touched::members([index]))
    }

    fn leave(
        &mut self,
        op: u64,
        agent: &AgentId,
        dc: &DcId,
        mode: Mode,
        log: &mut Log,
    ) -> Result<Touched, ProtocolError> {
        let dc_state = self.dc_mut(dc)?;
        let index = active_member(dc_state, agent)?;
        if mode.only_checks() {
            return checked();
        }
        let member = &mut dc_state.members[index as usize];
        member.status = MemberStatus::Left;
        log.push((
            index,
            LogEntry {
                op,
                event: Event::Left,
            },
        ));
        let reputation = member.reputation;
        // The member's reputation was part of the total.
        dc_state.total_reputation = dc_state.total_reputation.saturating_sub(reputation);
        Ok(Touched::members([index]))
    }

    #[allow(clippy::too_many_arguments)]
    fn contribute(
        &mut self,
        op: u64,
        agent: &AgentId,
        dc: &DcId,
        id: &ContributionId,
        kind: &TypeName,
        title: &str,
        mode: Mode,
        log: &mut Log,
    ) -> Result<Touched, ProtocolError> {
        let dc_state = self.dc_mut(dc)?;
        let contributor = active_member(dc_state, agent)?;
        let Some(kind_params) = dc_state.types.get(kind) else {
            return Err(ProtocolError::UnknownContributionType {
                dc: dc.clone(),
                kind: kind.clone(),
            });
        };
        let fee = kind_params.fee;
        let evaluator_fund = kind_params.evaluator_token_fund;
        let balance = dc_state.members[contributor as usize].tokens;
        let Some(balance) = balance.checked_sub(fee) else {
            return Err(ProtocolError::InsufficientTokens {
                needed: fee,
                available: balance,
            });
        };
        if dc_state.contribution_index.contains_key(id) {
            return Err(ProtocolError::ContributionExists {
                dc: dc.clone(),
                contribution: id.clone(),
            });
        }
        if title.len() > TITLE_BYTES_MAX as usize {
            return Err(ProtocolError::LimitExceeded {
                what: "the title's length in bytes",
                max: TITLE_BYTES_MAX.to_string(),
            });
        }
        if has_forbidden_char(title) {
            return Err(ProtocolError::InvalidParameter {
                name: "title".to_string(),
                reason: "it contains a control or bidirectional-override character".to_string(),
            });
        }
        if dc_state.contributions.len() >= CONTRIBUTIONS_MAX as usize {
            return Err(ProtocolError::LimitExceeded {
                what: "the number of contributions in this DC",
                max: CONTRIBUTIONS_MAX.to_string(),
            });
        }
        let treasury = dc_state.treasury.checked_add(fee).or_overflow()?;
        if mode.only_checks() {
            return checked();
        }

        let index = dc_state.contributions.len() as u32;
        dc_state.treasury = treasury;
        dc_state.contributions.push(Contribution {
            id: id.clone(),
            contributor,
            kind: kind.clone(),
            title: title.to_string(),
            created_op: op,
            fee,
            evaluator_fund,
            score_max: Fixed::ZERO,
            tokens_issued: Fixed::ZERO,
            reputation_issued: Fixed::ZERO,
            evaluations: Vec::new(),
            current: BTreeMap::new(),
            current_in_order: Vec::new(),
            thanks: Vec::new(),
        });
        dc_state.contribution_index.insert(id.clone(), index);
        let member = &mut dc_state.members[contributor as usize];
        member.tokens = balance;
        log.push((
            contributor,
            LogEntry {
                op,
                event: Event::Contributed {
                    contribution: index,
                    fee,
                },
            },
        ));
        Ok(Touched::members([contributor]).with_contribution(index))
    }

    fn thank(
        &mut self,
        op: u64,
        agent: &AgentId,
        dc: &DcId,
        contribution: &ContributionId,
        mode: Mode,
        log: &mut Log,
    ) -> Result<Touched, ProtocolError> {
        let dc_state = self.dc_mut(dc)?;
        let from = active_member(dc_state, agent)?;
        let index = contribution_index(dc_state, contribution)?;
        let record = &mut dc_state.contributions[index as usize];
        if record.contributor == from {
            return Err(ProtocolError::ThankingOneself);
        }
        if mode.only_checks() {
            return checked();
        }
        let contributor = record.contributor;
        record.thanks.push(Thanks { from, op });
        log.push((
            from,
            LogEntry {
                op,
                event: Event::ThanksGiven {
                    contribution: index,
                },
            },
        ));
        log.push((
            contributor,
            LogEntry {
                op,
                event: Event::ThanksReceived {
                    contribution: index,
                    from,
                },
            },
        ));
        Ok(Touched::members([from, contributor]).with_contribution(index))
    }

    #[allow(clippy::too_many_arguments)]
    fn transfer(
        &mut self,
        op: u64,
        agent: &AgentId,
        dc: &DcId,
        to: &AgentId,
        amount: Fixed,
        asset: Asset,
        mode: Mode,
        log: &mut Log,
    ) -> Result<Touched, ProtocolError> {
        if asset == Asset::Reputation {
            return Err(ProtocolError::ReputationNotTransferable);
        }
        if amount.is_zero() {
            return Err(ProtocolError::ZeroAmount);
        }
        check_amount("amount", amount)?;
        if agent == to {
            return Err(ProtocolError::TransferToSelf);
        }
        // A DC's account exists once the DC does: tokens sent to the
        // account of a DC nobody has founded yet would go to whoever
        // founds it first.
        if let Some(recipient_dc) = to.dc() {
            let recipient_dc = DcId::new(recipient_dc)?;
            self.dc_ref(&recipient_dc)?;
        }
        let dc_state = self.dc_ref(dc)?;
        // Tokens belong to whoever holds them, so members who left and mere
        // holders can still send them.
        let Some(from) = dc_state.member_index(agent) else {
            return Err(ProtocolError::NotAMember {
                agent: agent.clone(),
                dc: dc.clone(),
            });
        };
        let available = dc_state.members[from as usize].tokens;
        let Some(sender_balance) = available.checked_sub(amount) else {
            return Err(ProtocolError::InsufficientTokens {
                needed: amount,
                available,
            });
        };
        let receiver = dc_state.member_index(to);
        let receiver_balance = match receiver {
            Some(index) => dc_state.members[index as usize]
                .tokens
                .checked_add(amount)
                .or_overflow()?,
            None => {
                check_room(dc_state)?;
                amount
            }
        };
        if mode.only_checks() {
            return checked();
        }
        let receiver = match receiver {
            Some(index) => index,
            None => self.open_account(
                op,
                dc,
                to,
                MemberStatus::Holder,
                Fixed::ZERO,
                Fixed::ZERO,
                None,
            ),
        };
        let dc_state = self.dc_mut(dc)?;
        let sender = &mut dc_state.members[from as usize];
        sender.tokens = sender_balance;
        dc_state.members[receiver as usize].tokens = receiver_balance;
        log.push((
            from,
            LogEntry {
                op,
                event: Event::TokensSent {
                    to: receiver,
                    tokens: amount,
                },
            },
        ));
        log.push((
            receiver,
            LogEntry {
                op,
                event: Event::TokensReceived {
                    from,
                    tokens: amount,
                },
            },
        ));
        Ok(Touched::members([from, receiver]))
    }

    /// Adds an account to a DC that is known to exist, with room checked.
    #[allow(clippy::too_many_arguments)]
    fn open_account(
        &mut self,
        op: u64,
        dc: &DcId,
        agent: &AgentId,
        status: MemberStatus,
        reputation: Fixed,
        tokens: Fixed,
        referrer: Option<MemberIdx>,
    ) -> MemberIdx {
        self.agents
            .entry(agent.clone())
            .or_default()
            .insert(dc.clone());
        let dc_state = self
            .dcs
            .get_mut(dc)
            .expect("callers checked that the DC exists");
        push_member(dc_state, op, agent, status, reputation, tokens, referrer)
    }

    /// A member known to exist.
    fn member_mut(&mut self, dc: &DcId, index: MemberIdx) -> &mut Member {
        &mut self
            .dcs
            .get_mut(dc)
            .expect("callers checked that the DC exists")
            .members[index as usize]
    }

    fn dc_ref(&self, dc: &DcId) -> Result<&Dc, ProtocolError> {
        self.dcs
            .get(dc)
            .ok_or_else(|| ProtocolError::UnknownDc(dc.clone()))
    }

    fn dc_mut(&mut self, dc: &DcId) -> Result<&mut Dc, ProtocolError> {
        self.dcs
            .get_mut(dc)
            .ok_or_else(|| ProtocolError::UnknownDc(dc.clone()))
    }
}

fn push_member(
    dc: &mut Dc,
    op: u64,
    agent: &AgentId,
    status: MemberStatus,
    reputation: Fixed,
    tokens: Fixed,
    referrer: Option<MemberIdx>,
) -> MemberIdx {
    let index = dc.members.len() as MemberIdx;
    dc.members.push(Member {
        agent: agent.clone(),
        status,
        reputation,
        tokens,
        referrer,
        joined_op: op,
    });
    dc.member_index.insert(agent.clone(), index);
    index
}

fn check_room(dc: &Dc) -> Result<(), ProtocolError> {
    if dc.members.len() >= MEMBERS_MAX as usize {
        return Err(ProtocolError::LimitExceeded {
            what: "the number of accounts in this DC",
            max: MEMBERS_MAX.to_string(),
        });
    }
    Ok(())
}

fn check_text(what: &'static str, text: &str, bytes_max: u32) -> Result<(), ProtocolError> {
    if text.trim().is_empty() || text.len() > bytes_max as usize || has_forbidden_char(text) {
        return Err(ProtocolError::InvalidParameter {
            name: what.to_string(),
            reason: format!(
                "it must be 1 to {bytes_max} bytes of text without control or \
                 bidirectional-override characters"
            ),
        });
    }
    Ok(())
}

fn resolve_referrer(
    dc: &Dc,
    agent: &AgentId,
    referrer: Option<&AgentId>,
) -> Result<Option<MemberIdx>, ProtocolError> {
    let Some(referrer) = referrer else {
        return Ok(None);
    };
    if referrer == agent {
        return Err(ProtocolError::SelfReferral);
    }
    match dc.member_index(referrer) {
        Some(index) if dc.members[index as usize].is_active() => Ok(Some(index)),
        _ => Err(ProtocolError::UnknownReferrer {
            referrer: referrer.clone(),
            dc: dc.id.clone(),
        }),
    }
}

pub(crate) fn active_member(dc: &Dc, agent: &AgentId) -> Result<MemberIdx, ProtocolError> {
    let Some(index) = dc.member_index(agent) else {
        return Err(ProtocolError::NotAMember {
            agent: agent.clone(),
            dc: dc.id.clone(),
        });
    };
    match dc.members[index as usize].status {
        MemberStatus::Active => Ok(index),
        MemberStatus::Left => Err(ProtocolError::HasLeft {
            agent: agent.clone(),
            dc: dc.id.clone(),
        }),
        MemberStatus::Holder => Err(ProtocolError::NotAMember {
            agent: agent.clone(),
            dc: dc.id.clone(),
        }),
    }
}

pub(crate) fn contribution_index(
    dc: &Dc,
    contribution: &ContributionId,
) -> Result<u32, ProtocolError> {
    dc.contribution_index
        .get(contribution)
        .copied()
        .ok_or_else(|| ProtocolError::UnknownContribution {
            dc: dc.id.clone(),
            contribution: contribution.clone(),
        })
}
