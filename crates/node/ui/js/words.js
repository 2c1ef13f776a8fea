// Numbers and rules in plain words, in the reader's language (every sentence
// comes from the catalogs, see `i18n.js`). Amounts arrive as exact decimal
// strings; they are rounded here for reading only, and the exact value stays
// in the element's title.

import { h } from './dom.js';
import * as i18n from './i18n.js';
import { t } from './i18n.js';

/** A rounded amount for reading, with the exact one on hover. */
export function amount(text, digits = 2) {
  return h('span', { class: 'num', title: i18n.exact(text) }, round(text, digits));
}

export function round(text, digits = 2) {
  return i18n.number(text, digits);
}

/** "+1.5" / "−0.27", rounded, for a change. */
export function change(text, digits = 3) {
  const value = Number(text);
  if (!value) return null;
  const sign = value > 0 ? '+' : '−';
  const magnitude = String(text).replace(/^[+-]/, '');
  return h('span', { class: value > 0 ? 'up num' : 'down num', title: i18n.exact(magnitude) },
    `${sign}${i18n.number(magnitude, digits)}`);
}

export function percent(share, digits = 0) {
  return i18n.percent(share, digits);
}

/** An agent's id is a 64-digit key; people read its first digits. */
export function agentName(agent, names = {}) {
  if (names[agent]) return names[agent];
  if (agent.startsWith('dc:')) return t('agent.dcAccount', { dc: agent.slice(3) });
  return `${agent.slice(0, 8)}…`;
}

export function when(timestampMs) {
  return i18n.ago(timestampMs);
}

/** The DC's parameters as sentences. */
export function describeParams(dc) {
  const p = dc.params;
  const symbol = dc.token_symbol;
  return [
    p.rules === 'backfeed' ? t('rules.backfeed') : t('rules.classic'),
    t('rules.newMembers', { reputation: round(p.initial_reputation), tokens: round(p.initial_tokens), symbol }),
    t('rules.referral', { share: percent(p.referral_fraction) }),
    p.reward_evaluators_with_tokens ? t('rules.evaluatorsPaid', { symbol }) : t('rules.evaluatorsUnpaid'),
    t('rules.beta', { beta: round(p.beta, 3) }),
  ];
}

export function describeType(name, type, symbol) {
  if (type.thanks_only) return t('rules.typeThanksOnly', { name });
  return t('rules.typeScored', {
    name,
    fee: round(type.fee),
    symbol,
    scale: type.evaluation_set.map((value) => round(value, 18)).join(t('list.separator')),
    stake: percent(type.stake),
    threshold: percent(type.reward_threshold),
    tokens: round(type.token_reward_factor),
    reputation: round(type.reputation_reward_factor),
  });
}

/**
 * How concentrated reputation is, in a sentence: `n` is the fewest members
 * who together hold more than half of it (`null` when nobody holds any).
 * One or two such members can value work alone: that deserves a warning.
 */
export function concentration(n) {
  if (n === null || n === undefined) return { text: t('concentration.none'), warn: false };
  if (n <= 2) return { text: t('concentration.few', { count: n }), warn: true };
  return { text: t('concentration.many', { count: n }), warn: false };
}

export function statusWord(status) {
  switch (status) {
    case 'member': return t('status.member');
    case 'left': return t('status.left');
    case 'holder': return t('status.holder');
    default: return status;
  }
}
