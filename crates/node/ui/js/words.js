// Numbers and rules in plain words. Amounts arrive as exact decimal strings;
// they are rounded here for reading only, and the exact value stays in the
// element's title.

import { h } from './dom.js';

/** A rounded amount for reading, with the exact one on hover. */
export function amount(text, digits = 2) {
  return h('span', { class: 'num', title: text }, round(text, digits));
}

export function round(text, digits = 2) {
  const value = Number(text);
  if (!Number.isFinite(value)) return String(text);
  return value.toLocaleString('en', { maximumFractionDigits: digits });
}

/** "+1.5" / "−0.27", rounded, for a change. */
export function change(text, digits = 3) {
  const value = Number(text);
  if (!value) return null;
  const sign = value > 0 ? '+' : '−';
  return h('span', { class: value > 0 ? 'up num' : 'down num', title: text },
    `${sign}${Math.abs(value).toLocaleString('en', { maximumFractionDigits: digits })}`);
}

export function percent(share, digits = 0) {
  return `${(share * 100).toLocaleString('en', { maximumFractionDigits: digits })}%`;
}

/** An agent's id is a 64-digit key; people read its first digits. */
export function agentName(agent, names = {}) {
  if (names[agent]) return names[agent];
  if (agent.startsWith('dc:')) return `the DC ${agent.slice(3)}`;
  return `${agent.slice(0, 8)}…`;
}

export function when(timestampMs) {
  if (!timestampMs) return '';
  const seconds = Math.round((Date.now() - timestampMs) / 1000);
  if (seconds < 5) return 'just now';
  if (seconds < 90) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min ago`;
  return new Date(timestampMs).toLocaleString();
}

/** The DC's parameters as sentences. */
export function describeParams(dc) {
  const p = dc.params;
  const lines = [
    p.rules === 'backfeed'
      ? 'Rules: Backfeed (current): a contribution is rewarded by the median of its evaluations once evaluators holding more than its threshold of the community\'s reputation have taken part.'
      : 'Rules: Backfeed classic (the reference implementation): a contribution is rewarded when up-votes pass its threshold.',
    `New members start with ${round(p.initial_reputation)} reputation and ${round(p.initial_tokens)} ${dc.token_symbol}.`,
    `Whoever refers a new member receives ${percent(Number(p.referral_fraction))} of what the newcomer is given.`,
    p.reward_evaluators_with_tokens
      ? `Early evaluators are paid ${dc.token_symbol} from each contribution type's evaluator fund.`
      : 'Evaluators are not paid in tokens; they can gain reputation when later evaluators agree with them.',
    `The engagement discount has exponent ${round(p.beta, 3)}: the more reputation has already evaluated a contribution, the less a new evaluator stakes.`,
  ];
  return lines;
}

export function describeType(name, type, symbol) {
  if (type.thanks_only) {
    return `${name}: thanks only. Recorded and thanked, never scored: no fee, no stakes, no rewards.`;
  }
  const scale = type.evaluation_set.join(', ');
  return `${name}: contributing costs ${round(type.fee)} ${symbol}. Evaluators choose among ${scale} and stake `
    + `${percent(Number(type.stake))} of their reputation (less when many have evaluated already). `
    + `It is rewarded once ${percent(Number(type.reward_threshold))} of the reputation has evaluated it: `
    + `up to ${round(type.token_reward_factor)} ${symbol} and ${round(type.reputation_reward_factor)} reputation `
    + `times the engaged share, scaled by the median value.`;
}

/**
 * How concentrated reputation is, in a sentence: `n` is the fewest members
 * who together hold more than half of it (`null` when nobody holds any).
 * One or two such members can value work alone: that deserves a warning.
 */
export function concentration(n) {
  if (n === null || n === undefined) {
    return { text: 'Nobody holds any reputation yet: no evaluation can value work.', warn: false };
  }
  if (n === 1) {
    return { text: '1 member holds more than half of the reputation: they can decide alone which work is valued.', warn: true };
  }
  if (n === 2) {
    return { text: '2 members hold more than half of the reputation: they can decide alone which work is valued.', warn: true };
  }
  return { text: `It takes ${n} members to hold more than half of the reputation: no fewer can decide alone which work is valued.`, warn: false };
}

export function statusWord(status) {
  return { member: 'member', left: 'left', holder: 'token holder' }[status] || status;
}
