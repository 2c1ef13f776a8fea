// Why a balance changed, in the reader's language. The node describes each
// change of an action log as data (`detail` in `/api/v1/agents/{agent}/log`:
// the rule, its exact numbers, the contribution and the agents involved);
// each kind is worded here from the catalogs, with every number exact, so
// that anyone can recompute the change by hand in any language. The node's
// English sentence (`explanation`) is for the CLI and is never shown here.

import { h } from './dom.js';
import { t, tn, exact, percent } from './i18n.js';

/**
 * The parts of a sentence for `entry` (a log entry view), for `h(...)`.
 * `agent(id)` gives what to show for an agent (a link with its name).
 */
export function explain(entry, agent) {
  const d = entry.detail;
  if (!d) return [t('explain.unknown')];
  const symbol = entry.token_symbol;
  const contribution = d.contribution
    ? h('a', { href: `#/dc/${encodeURIComponent(entry.dc)}/c/${encodeURIComponent(d.contribution.id)}` },
      t('explain.contribution', { title: d.contribution.title || d.contribution.id }))
    : null;
  const n = exact;
  switch (d.kind) {
    case 'joined':
      if (d.founder) return tn('explain.founder', { reputation: n(d.reputation), tokens: n(d.tokens), symbol });
      if (d.referrer) {
        return tn('explain.joinedReferred', { reputation: n(d.reputation), tokens: n(d.tokens), symbol, referrer: agent(d.referrer) });
      }
      return tn('explain.joined', { reputation: n(d.reputation), tokens: n(d.tokens), symbol });
    case 'rejoined':
      return tn('explain.rejoined');
    case 'left':
      return tn('explain.left');
    case 'contributed':
      return tn('explain.contributed', { contribution, fee: n(d.fee), symbol });
    case 'evaluated':
      return tn('explain.evaluated', { contribution, value: n(d.value) });
    case 'evaluator_reward':
      return tn('explain.evaluatorReward', {
        contribution, tokens: n(d.tokens), symbol, mine: n(d.evaluator_reputation), unengaged: n(d.unengaged_reputation),
      });
    case 'stake_paid':
      return tn('explain.stakePaid', {
        contribution,
        reputation: n(d.reputation),
        stake: n(d.stake),
        mine: n(d.evaluator_reputation),
        engaged: n(d.engaged_reputation),
        total: n(d.total_reputation),
        beta: n(d.beta),
      });
    case 'redistribution':
      return tn('explain.redistribution', {
        contribution,
        reputation: n(d.reputation),
        evaluator: agent(d.evaluator),
        distribution: n(d.distribution_stake),
        theirs: n(d.evaluator_reputation),
        agreeing: n(d.agreeing_reputation),
      });
    case 'contribution_rewarded': {
      const params = {
        contribution,
        tokens: n(d.tokens),
        reputation: n(d.reputation),
        symbol,
        before: n(d.score_before),
        after: n(d.score_after),
        upvoted: n(d.upvoted_reputation),
        total: n(d.total_reputation),
        tokenFactor: n(d.token_reward_factor),
        reputationFactor: n(d.reputation_reward_factor),
        valueMax: n(d.value_max),
      };
      return d.rules === 'backfeed-classic' ? tn('explain.rewardedClassic', params) : tn('explain.rewardedMedian', params);
    }
    case 'referral_reward':
      return tn('explain.referralReward', {
        contribution,
        tokens: n(d.tokens),
        reputation: n(d.reputation),
        symbol,
        share: percent(d.referral_fraction, 2),
        referred: agent(d.referred),
      });
    case 'tokens_sent':
      return tn('explain.tokensSent', { tokens: n(d.tokens), symbol, to: agent(d.to) });
    case 'tokens_received':
      return tn('explain.tokensReceived', { tokens: n(d.tokens), symbol, from: agent(d.from) });
    case 'thanks_given':
      return tn('explain.thanksGiven', { contribution });
    case 'thanks_received':
      return tn('explain.thanksReceived', { contribution, from: agent(d.from) });
    default:
      return [t('explain.unknown')];
  }
}
