// The stigmer web UI: pages for people, over the same API as the CLI.
// Transactions are signed here, in the browser, with a key kept in this
// browser's storage; the node only ever sees signed transactions.

import { h, fill } from './dom.js';
import * as api from './api.js';
import * as charts from './charts.js';
import * as words from './words.js';
import * as wallet from './wallet.js';

const main = document.getElementById('main');
/** Contributions a dashboard lists per "Show more" (one page). */
const CONTRIBUTIONS_SHOWN = 30;
/** Log entries an agent page shows per "Show more" (one page). */
const LOG_SHOWN = 50;
const live = document.getElementById('live');
const notice = document.getElementById('notice');

/** Tells the person how their last transaction went, wherever they are on the page. */
function announce(className, ...content) {
  notice.className = `notice-bar ${className}`;
  fill(notice, ...content);
}

// ---------------------------------------------------------------- routing

const routes = [
  [/^#?\/?$/, homePage],
  [/^#\/dc\/([^/]+)$/, dcPage],
  [/^#\/dc\/([^/]+)\/c\/([^/]+)$/, contributionPage],
  [/^#\/agent\/([^/]+)$/, agentPage],
  [/^#\/blocks(?:\/before\/(\d+))?$/, blocksPage],
  [/^#\/block\/(\d+)$/, blockPage],
  [/^#\/tx\/([0-9a-fA-F]{64})$/, txPage],
  [/^#\/keys$/, keysPage],
  [/^#\/new-dc$/, newDcPage],
];

/** The current page's way to read its data again when a block arrives. */
let refreshPage = null;
let routeNumber = 0;

/** Shows the page the address names. After a navigation (not on the first
 * load) focus moves to the content, as a screen reader expects. */
async function route(event) {
  const hash = location.hash || '#/';
  const number = ++routeNumber;
  refreshPage = null;
  for (const [pattern, page] of routes) {
    const match = hash.match(pattern);
    if (match) {
      const params = match.slice(1).map((part) => (part === undefined ? undefined : decodeURIComponent(part)));
      try {
        await page(...params);
      } catch (error) {
        if (number === routeNumber) showError(error);
      }
      // A page may show its form before its last parts arrive: never take
      // focus from a field the person already chose.
      const chosen = main.contains(document.activeElement) && document.activeElement !== main;
      if (number === routeNumber && event && !chosen) {
        main.focus({ preventScroll: true });
      }
      return;
    }
  }
  fill(main, h('h1', {}, 'Not found'), h('p', {}, 'There is no such page. ', h('a', { href: '#/' }, 'Back to the cooperatives')));
}

function showError(error) {
  fill(main, h('h1', {}, 'Something went wrong'),
    h('p', { class: 'error' }, error.message || String(error)),
    h('p', {}, h('a', { href: '#/' }, 'Back to the cooperatives')));
}

/** Sets the page title and content. */
function page(title, ...children) {
  document.title = `${title} · stigmer`;
  fill(main, h('h1', {}, title), ...children);
}

/** A section whose content `load` fills, again after each new block. */
function liveSection(label, load) {
  const body = h('div', { class: 'section-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const section = h('section', { 'aria-label': label }, body);
  const run = async () => {
    try {
      const content = await load();
      fill(body, content);
    } catch (error) {
      fill(body, h('p', { class: 'error' }, error.message));
    }
  };
  return { section, run };
}

/** Runs each live section now and after every block with new transactions. */
function keepFresh(...sections) {
  const runAll = () => Promise.all(sections.map((one) => one.run()));
  refreshPage = runAll;
  return runAll();
}

// ------------------------------------------------------------- live events

let lastTransactions = null;
let refreshTimer = null;

function connectEvents() {
  const source = new EventSource('/api/v1/events');
  source.addEventListener('block', (event) => {
    const block = JSON.parse(event.data);
    fill(live, `Block ${block.height} · ${block.transactions} transactions`);
    live.title = `state root ${block.state_root}`;
    if (lastTransactions !== null && block.transactions !== lastTransactions && refreshPage) {
      // Many blocks may come at once: read again at most twice a second.
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(() => refreshPage && refreshPage(), 500);
    }
    lastTransactions = block.transactions;
  });
  source.onerror = () => fill(live, 'reconnecting…');
}

// ------------------------------------------------------------------ helpers

function agentLink(agent, names) {
  // A DC's own account has an agent page too (it links to the DC).
  return h('a', { href: `#/agent/${api.enc(agent)}`, class: 'agent', title: agent }, words.agentName(agent, names));
}

function txLink(transaction, text) {
  if (!transaction) return '';
  if (transaction.genesis) return 'genesis';
  return h('a', { href: `#/tx/${transaction.hash}`, title: transaction.hash }, text || `block ${transaction.height}`);
}

function table(caption, headers, rows, className = '') {
  // On a phone each row becomes a card; each cell then says what it is.
  for (const row of rows) {
    [...row.children].forEach((cell, index) => cell.setAttribute('data-label', headers[index] || ''));
  }
  return h('div', { class: 'table-wrap' },
    h('table', { class: className },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((text) => h('th', { scope: 'col' }, text)))),
      h('tbody', {}, rows)));
}

/** Names of this browser's keys, to show "you" instead of digits. */
function myNames() {
  const names = {};
  for (const key of wallet.list()) names[key.agent] = `${key.name} (you)`;
  return names;
}

/**
 * A form whose submit signs `operation()` with the active key and waits for
 * the ledger's answer, shown in the form's status line.
 */
function txForm(label, fields, operation, { button = label, after } = {}) {
  const status = h('p', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit' }, button);
  const form = h('form', { class: 'tx-form', 'aria-label': label }, fields, submit, status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    const say = (className, ...content) => {
      status.className = `form-status ${className}`;
      fill(status, ...content);
      // The form may vanish when the page is read again (a join form once
      // joined): the notice bar keeps the answer in view.
      announce(className, `${label}: `, ...content.map((part) => (part instanceof Node ? part.cloneNode(true) : part)));
    };
    say('', 'Signing in your browser and sending…');
    try {
      const op = await operation(new FormData(form));
      const answer = await wallet.submit(op);
      if (answer.status === 'finalized' && answer.ok) {
        say('ok', 'Done: finalized in ', txLink({ hash: answer.hash, height: answer.height }), '.');
        if (after) after(answer);
      } else if (answer.status === 'finalized') {
        say('error', `The ledger said no: ${answer.error}. Nothing changed. `, txLink({ hash: answer.hash, height: answer.height }, 'See the transaction'));
      } else {
        say('', 'Sent; waiting for the next block.');
      }
      if (refreshPage) refreshPage();
    } catch (error) {
      say('error', error.message);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function field(label, input, help) {
  const id = `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const helpId = help ? `${id}-help` : undefined;
  if (helpId) input.setAttribute('aria-describedby', helpId);
  return h('div', { class: 'field' },
    h('label', { for: id }, label), input,
    help ? h('small', { id: helpId }, help) : null);
}

function needKey() {
  return h('p', { class: 'notice' }, 'To take part, ', h('a', { href: '#/keys' }, 'make or import a key'),
    '. It stays in this browser; the node never sees it.');
}

// -------------------------------------------------------------------- pages

async function homePage() {
  const status = await api.get('/status');
  const list = liveSection('Cooperatives', async () => {
    const { items: dcs } = await api.getAll('/dcs?limit=100', 'dcs');
    if (dcs.length === 0) return h('p', {}, 'No cooperative yet. ', h('a', { href: '#/new-dc' }, 'Found the first one.'));
    return h('ul', { class: 'cards' }, dcs.map((dc) => h('li', { class: 'card' },
      h('h2', {}, h('a', { href: `#/dc/${api.enc(dc.id)}` }, dc.name)),
      h('p', {}, `${dc.n_members} members · ${dc.n_contributions} contributions`),
      h('p', {}, words.amount(dc.token_supply), ` ${dc.token_symbol} in circulation · `,
        words.amount(dc.total_reputation), ' reputation'))));
  });
  page('Cooperatives on this ledger',
    h('p', { class: 'lead' }, `Ledger “${status.chain_id}”, kept by ${status.validators.length} validator${status.validators.length === 1 ? '' : 's'}. `,
      'Members value each other’s work: evaluations put reputation at stake, and once enough of the community’s reputation has spoken, tokens and reputation are issued.'),
    list.section,
    h('p', {}, h('a', { href: '#/new-dc', class: 'button' }, 'Found a cooperative')));
  await keepFresh(list);
}

async function dcPage(id) {
  const names = myNames();
  const me = wallet.active();
  const dcData = await api.get(`/dcs/${api.enc(id)}`);
  const symbol = dcData.token_symbol;
  // Every account, page by page (the Lorenz curve needs them all).
  const allMembers = async () => (await api.getAll(`/dcs/${api.enc(id)}/members?limit=500`, 'members')).items;
  const membersNow = await allMembers();

  // Forms are built once: a live refresh must never wipe what someone is
  // typing. Only the balance line is read again after each block.
  const liveParts = [];
  let mine;
  const member = me && membersNow.find((m) => m.agent === me.agent);
  if (!me) {
    mine = needKey();
  } else if (!member || member.status !== 'member') {
    mine = h('section', { 'aria-label': 'Join' },
      h('h2', {}, 'Join'),
      h('p', {}, `You (${me.name}) are not a member${member ? ' any more' : ''}.`),
      txForm('Join this cooperative', [
        field('Referred by (optional)', h('input', { name: 'referrer', autocomplete: 'off', placeholder: 'agent id' }),
          'The member who brought you; they receive a share of what you are given.'),
      ], (data) => {
        const op = { type: 'join', dc: id };
        const referrer = String(data.get('referrer') || '').trim();
        if (referrer) op.referrer = referrer;
        return op;
      }, { button: 'Join', after: () => route() }));
  } else {
    const balance = liveSection('Your balances', async () => {
      const now = (await allMembers()).find((m) => m.agent === me.agent) || member;
      return h('p', {}, words.amount(now.reputation), ' reputation · ', words.amount(now.tokens), ` ${symbol} · `,
        h('a', { href: `#/agent/${api.enc(me.agent)}` }, 'why these numbers'));
    });
    liveParts.push(balance);
    const scored = Object.entries(dcData.types).filter(([, t]) => !t.thanks_only).map(([n]) => n);
    // Scored kinds first: they are what most contributions are.
    const typeNames = [...scored, ...Object.keys(dcData.types).filter((n) => !scored.includes(n))];
    mine = h('section', { 'aria-label': 'You in this cooperative' },
      h('h2', {}, `You: ${me.name}`),
      balance.section,
      h('div', { class: 'forms' },
        txForm('Record a contribution', [
          field('What did you do?', h('input', { name: 'title', required: true, maxlength: 200 })),
          field('Kind', h('select', { name: 'kind' }, typeNames.map((name) => h('option', { value: name }, dcData.types[name].thanks_only ? `${name} (thanks only)` : name))),
            scored.length ? `Scored kinds cost a fee in ${symbol}; thanks-only kinds are free.` : undefined),
        ], (data) => ({
          type: 'contribute',
          dc: id,
          id: `${String(data.get('kind'))}-${Date.now().toString(36)}`,
          contribution_type: String(data.get('kind')),
          title: String(data.get('title')),
        }), { button: 'Record it' }),
        txForm(`Send ${symbol}`, [
          field('To (agent id)', h('input', { name: 'to', required: true, autocomplete: 'off', pattern: '[0-9a-fA-F]{64}|dc:.+' })),
          field(`Amount of ${symbol}`, h('input', { name: 'amount', required: true, inputmode: 'decimal', pattern: '[0-9]+(\\.[0-9]{1,18})?' })),
        ], (data) => ({
          type: 'transfer', dc: id, to: String(data.get('to')).trim(), amount: String(data.get('amount')).trim(), asset: 'tokens',
        }), { button: 'Send' })));
  }

  const members = liveSection('Members', async () => {
    const dc = await api.get(`/dcs/${api.enc(id)}`);
    const all = await allMembers();
    const active = all.filter((m) => m.status === 'member');
    const total = Number(dc.total_reputation) || 1;
    const rows = [...all].sort((a, b) => Number(b.reputation) - Number(a.reputation)).map((m) => h('tr', {},
      h('td', {}, agentLink(m.agent, names)),
      h('td', {}, words.statusWord(m.status)),
      h('td', { class: 'n' }, words.amount(m.reputation)),
      h('td', { class: 'n' }, m.status === 'member' ? words.percent(Number(m.reputation) / total, 1) : '—'),
      h('td', { class: 'n' }, words.amount(m.tokens))));
    const reputations = active.map((m) => Number(m.reputation));
    const g = charts.gini(reputations);
    const concentration = words.concentration(dc.majority_holders);
    return h('div', {},
      h('p', concentration.warn ? { class: 'warning', role: 'note' } : { class: 'muted' }, concentration.text),
      h('div', { class: 'two' },
      table(`${active.length} members`, ['Member', 'Status', 'Reputation', 'Share', symbol], rows),
      h('figure', {},
        charts.lorenz(reputations, 'reputation'),
        h('figcaption', {}, `How evenly reputation is spread. Gini coefficient ${g.toFixed(2)} `,
          `(0: everyone equal; 1: one member holds all). The further the curve sags below the diagonal, the more unequal.`))));
  });

  // Pages shown so far: "Show more" reads one more (newest first).
  let pagesShown = 1;
  const contributions = liveSection('Contributions', async () => {
    const dc = await api.get(`/dcs/${api.enc(id)}`);
    const total = Number(dc.total_reputation) || 1;
    const shown = [];
    let cursor = null;
    for (let n = 0; n < pagesShown; n += 1) {
      const query = `?limit=${CONTRIBUTIONS_SHOWN}${cursor === null ? '' : `&cursor=${api.enc(cursor)}`}`;
      const pageData = await api.get(`/dcs/${api.enc(id)}/contributions${query}`);
      shown.push(...pageData.contributions);
      cursor = pageData.next;
      if (cursor === null) break;
    }
    const rows = shown.map((c) => {
      const type = dc.types[c.type] || {};
      const share = Number(c.engaged_reputation) / total;
      const threshold = Number(type.reward_threshold || 0.5);
      return h('tr', {},
        h('td', {}, h('a', { href: `#/dc/${api.enc(id)}/c/${api.enc(c.id)}` }, c.title || c.id)),
        h('td', {}, c.type),
        h('td', {}, agentLink(c.contributor, names)),
        h('td', {}, c.thanks_only ? h('span', { class: 'muted' }, `${c.n_thanks} thanks`)
          : [charts.bar(share, threshold, `${words.percent(share)} of reputation engaged; issued at ${words.percent(threshold)}`),
            ` ${words.percent(share)}`]),
        h('td', { class: 'n' }, c.thanks_only ? '—' : String(c.n_evaluations)),
        h('td', { class: 'n' }, c.thanks_only ? '—' : words.amount(c.tokens_issued)));
    });
    const more = cursor !== null
      ? h('p', {}, h('button', {
        type: 'button',
        onclick: () => { pagesShown += 1; contributions.run(); },
      }, `Show more (${shown.length} of ${dc.n_contributions} shown)`))
      : null;
    return h('div', {},
      table(`${dc.n_contributions} contributions, newest first`, ['Contribution', 'Kind', 'By', 'Engaged reputation', 'Evaluations', `${symbol} issued`], rows),
      more);
  });

  const history = liveSection('Tokens over time', async () => {
    const { points } = await api.get(`/dcs/${api.enc(id)}/history`);
    const start = points.length ? points[0].timestamp_ms || 0 : 0;
    const minutes = (p) => ((p.timestamp_ms || start) - start) / 60000;
    const supply = points.map((p) => [minutes(p), Number(p.token_supply)]);
    const issued = points.map((p) => [minutes(p), Number(p.issued_for_work)]);
    const last = points[points.length - 1];
    return h('figure', {},
      charts.lines([{ name: `${symbol} in circulation`, points: supply }, { name: `${symbol} issued for work`, points: issued }],
        { xLabel: 'minutes since founding →', yLabel: symbol, label: `${symbol} over time` }),
      h('figcaption', {}, last
        ? [`Now ${words.round(last.token_supply)} ${symbol} exist; `, `${words.round(last.issued_for_work)} of them were issued for work and evaluations, the rest given to members as they joined.`]
        : 'No tokens yet.'));
  });

  page(dcData.name,
    h('p', { class: 'lead' }, `Token: ${symbol} · steward `, agentLink(dcData.steward, names),
      ` · treasury `, words.amount(dcData.treasury), ` ${symbol}`),
    mine,
    h('h2', {}, 'Members'), members.section,
    h('h2', {}, 'Contributions'), contributions.section,
    h('h2', {}, 'Tokens over time'), history.section,
    h('h2', {}, 'How this cooperative works'),
    h('ul', {}, words.describeParams(dcData).map((line) => h('li', {}, line))),
    h('ul', {}, Object.entries(dcData.types).map(([name, type]) => h('li', {}, words.describeType(name, type, symbol)))));
  await keepFresh(...liveParts, members, contributions, history);
}

function describeEvaluation(e, symbol) {
  const f = e.figures || {};
  const parts = [];
  parts.push(`At that moment ${words.round(f.engaged_reputation)} of ${words.round(f.total_reputation)} reputation had evaluated, `
    + `${words.round(f.agreeing_reputation)} of it agreeing with this value.`);
  if (f.first) parts.push('This was the evaluator’s first evaluation of it.');
  if (f.score_max_after !== f.score_max_before) {
    parts.push(`The score rose from ${words.round(f.score_max_before)} to ${words.round(f.score_max_after)}: tokens and reputation were issued to the contributor.`);
  }
  if (f.median !== undefined) parts.push(`Median value then: ${words.round(f.median)}.`);
  return parts.join(' ');
}

async function contributionPage(dcId, id) {
  const names = myNames();
  const me = wallet.active();
  const dc = await api.get(`/dcs/${api.enc(dcId)}`);
  const symbol = dc.token_symbol;
  const first = await api.get(`/dcs/${api.enc(dcId)}/contributions/${api.enc(id)}`);
  const type = dc.types[first.type] || {};
  const threshold = Number(type.reward_threshold || 0.5);

  // Every evaluation and thanks, page by page.
  const whole = async () => {
    const c = await api.get(`/dcs/${api.enc(dcId)}/contributions/${api.enc(id)}`);
    const base = `/dcs/${api.enc(dcId)}/contributions/${api.enc(id)}`;
    if (c.evaluations_next !== null) c.evaluations = (await api.getAll(`${base}/evaluations?limit=500`, 'evaluations')).items;
    if (c.thanks_next !== null) c.thanks = (await api.getAll(`${base}/thanks?limit=500`, 'thanks')).items;
    return c;
  };
  const summary = liveSection('Where it stands', async () => {
    const c = await whole();
    const dcNow = await api.get(`/dcs/${api.enc(dcId)}`);
    const share = Number(c.engaged_reputation) / (Number(dcNow.total_reputation) || 1);
    if (c.thanks_only) {
      return h('div', {}, h('p', {}, `A ${c.type} contribution: thanks only, never scored. Thanked ${c.n_thanks} times.`),
        h('ul', {}, c.thanks.map((t) => h('li', {}, agentLink(t.from, names), ' thanked ', txLink(t.transaction)))));
    }
    const points = c.evaluations.map((e, index) => [index + 1,
      Number(e.figures.engaged_reputation) / (Number(e.figures.total_reputation) || 1)]);
    return h('div', { class: 'two' },
      h('div', {},
        h('p', {}, charts.bar(share, threshold, `${words.percent(share)} engaged`), ` ${words.percent(share, 1)} of the community’s reputation has evaluated it; `
          + `rewards are issued from ${words.percent(threshold)}.`),
        h('p', {}, `Score ${words.round(c.score_max)} · issued `, words.amount(c.tokens_issued), ` ${symbol} and `,
          words.amount(c.reputation_issued), ' reputation to the contributor · ', `${c.n_thanks} thanks`)),
      h('figure', {},
        charts.lines([{ name: 'engaged share', points: [[0, 0], ...points] }],
          { xLabel: 'evaluations →', yLabel: 'share', label: 'Engaged reputation approaching the threshold', threshold, yMax: 1 }),
        h('figcaption', {}, `The share of reputation engaged after each evaluation; the line marks ${words.percent(threshold)}.`)));
  });

  const evaluations = liveSection('Evaluations', async () => {
    const c = await whole();
    if (c.evaluations.length === 0) return h('p', { class: 'muted' }, c.thanks_only ? 'Thanks-only contributions are not evaluated.' : 'No evaluation yet.');
    return h('ol', { class: 'timeline' }, c.evaluations.map((e) => h('li', { class: e.superseded ? 'superseded' : '' },
      h('p', {}, agentLink(e.evaluator, names), ` valued it ${words.round(e.value)}`,
        e.superseded ? ' (later changed)' : '', ' · ', txLink(e.transaction)),
      h('p', { class: 'explain' }, describeEvaluation(e, symbol)))));
  });

  let act = null;
  if (!me) {
    act = needKey();
  } else if (me.agent === first.contributor && (first.thanks_only || dc.rules === 'backfeed')) {
    // The node would refuse both: one's own work is for the others.
    act = h('p', { class: 'muted' }, 'This is your own contribution: it is for the others to value and thank.');
  } else if (first.thanks_only) {
    act = txForm('Thank the contributor', [], () => ({ type: 'thank', dc: dcId, contribution: id }), { button: 'Say thanks' });
  } else {
    const choices = h('fieldset', { class: 'choices' }, h('legend', {}, 'Your evaluation'),
      type.evaluation_set.map((value, index) => {
        const inputId = `v-${index}`;
        return h('span', { class: 'choice' },
          h('input', { type: 'radio', name: 'value', value, id: inputId, required: true }),
          h('label', { for: inputId }, value));
      }));
    act = h('div', { class: 'forms' },
      txForm('Evaluate', [choices,
        h('p', { class: 'muted' }, `You stake part of your reputation; you gain when later evaluators agree with you.`)],
      (data) => ({ type: 'evaluate', dc: dcId, contribution: id, value: String(data.get('value')) }), { button: 'Evaluate' }),
      txForm('Thank the contributor', [], () => ({ type: 'thank', dc: dcId, contribution: id }), { button: 'Say thanks' }));
  }

  page(first.title || first.id,
    h('p', { class: 'lead' }, `${first.type} in `, h('a', { href: `#/dc/${api.enc(dcId)}` }, dc.name), ' by ', agentLink(first.contributor, names)),
    summary.section,
    h('h2', {}, 'Take part'), act,
    h('h2', {}, 'Evaluations over time'), evaluations.section);
  await keepFresh(summary, evaluations);
}

async function agentPage(agent) {
  const names = myNames();
  // Pages of the log shown so far: "Show more" reads one more (older).
  let pagesShown = 1;
  const body = liveSection('Account', async () => {
    const data = await api.get(`/agents/${api.enc(agent)}`);
    const memberships = data.memberships_next === null ? data.memberships
      : (await api.getAll(`/agents/${api.enc(agent)}/memberships?limit=100`, 'memberships')).items;
    const entries = [];
    let cursor = null;
    for (let n = 0; n < pagesShown; n += 1) {
      const query = `?limit=${LOG_SHOWN}${cursor === null ? '' : `&cursor=${api.enc(cursor)}`}`;
      const pageData = data.log.length === 0 ? { log: [], next: null } : await api.get(`/agents/${api.enc(agent)}/log${query}`);
      entries.push(...pageData.log);
      cursor = pageData.next;
      if (cursor === null) break;
    }
    const stakes = {};
    for (const entry of entries) {
      const record = stakes[entry.dc] || (stakes[entry.dc] = { staked: 0, regained: 0, rewards: 0, evaluations: 0 });
      const rep = Number(entry.reputation_change);
      if (entry.kind === 'stake_paid') record.staked -= rep;
      if (entry.kind === 'redistribution') record.regained += rep;
      if (entry.kind === 'evaluator_reward') record.rewards += Number(entry.tokens_change);
      if (entry.kind === 'evaluated') record.evaluations += 1;
    }
    const membershipRows = memberships.map((m) => h('tr', {},
      h('td', {}, h('a', { href: `#/dc/${api.enc(m.dc)}` }, m.dc)),
      h('td', {}, words.statusWord(m.status)),
      h('td', { class: 'n' }, words.amount(m.reputation)),
      h('td', { class: 'n' }, words.amount(m.tokens), ` ${m.token_symbol}`)));
    const stakeRows = Object.entries(stakes).map(([dc, r]) => h('tr', {},
      h('td', {}, dc), h('td', { class: 'n' }, String(r.evaluations)),
      h('td', { class: 'n' }, words.round(r.staked, 4)), h('td', { class: 'n' }, words.round(r.regained, 4)),
      h('td', { class: 'n' }, words.round(r.regained - r.staked, 4)), h('td', { class: 'n' }, words.round(r.rewards, 4))));
    const log = entries.map((entry) => h('tr', {},
      h('td', {}, entry.dc), h('td', {}, txLink(entry.transaction)),
      h('td', { class: 'explain' }, entry.explanation),
      h('td', { class: 'n' }, words.change(entry.reputation_change) || ''),
      h('td', { class: 'n' }, words.change(entry.tokens_change) || '')));
    const more = cursor !== null
      ? h('p', {}, h('button', {
        type: 'button',
        onclick: () => { pagesShown += 1; body.run(); },
      }, `Show more (${entries.length} of ${data.n_log_entries} shown)`))
      : null;
    return h('div', {},
      table('Memberships', ['Cooperative', 'Status', 'Reputation', 'Tokens'], membershipRows),
      h('h2', {}, 'Stake record'),
      table(`Reputation put at stake by evaluating, and what came back${cursor !== null ? ' (in the changes shown below)' : ''}`, ['Cooperative', 'Evaluations', 'Staked', 'Regained', 'Net', 'Tokens earned evaluating'], stakeRows),
      h('h2', {}, 'Every change, with its cause'),
      table('Newest first. Each line names the transaction that caused it and how the numbers were computed.',
        ['Cooperative', 'Transaction', 'What happened', 'Reputation', 'Tokens'], log, 'log'),
      more);
  });
  // A DC's own account: the account through which the DC acts elsewhere.
  const ownDc = agent.startsWith('dc:') ? agent.slice(3) : null;
  page(ownDc ? `The account of cooperative ${ownDc}` : `Member ${words.agentName(agent, names)}`,
    h('p', { class: 'lead mono' }, agent),
    ownDc ? h('p', {}, 'Through this account the cooperative acts in other cooperatives. ',
      h('a', { href: `#/dc/${api.enc(ownDc)}` }, 'Its own page')) : null,
    body.section);
  await keepFresh(body);
}

async function blocksPage(before) {
  const list = liveSection('Blocks', async () => {
    const query = before ? `?before=${before}&limit=20` : '?limit=20';
    const data = await api.get(`/blocks${query}`);
    const checks = await Promise.all(data.blocks.map((block) => wallet.checkHeader(block)));
    const rows = data.blocks.map((block, index) => {
      const below = data.blocks[index + 1];
      const linked = !below || below.hash === block.parent;
      const ok = checks[index] && linked;
      return h('tr', {},
        h('td', {}, h('a', { href: `#/block/${block.height}` }, String(block.height))),
        h('td', {}, words.when(block.timestamp_ms)),
        h('td', { class: 'n' }, String(block.n_transactions)),
        h('td', { class: 'mono' }, `${block.hash.slice(0, 16)}…`),
        h('td', { class: ok ? 'ok' : 'error' }, ok ? '✓ hash and link check out' : '✗ does not check out'));
    });
    const lowest = data.blocks.length ? data.blocks[data.blocks.length - 1].height : 0;
    return h('div', {},
      h('p', {}, `Height ${data.height}. Your browser recomputed each block’s hash from its header and checked that it names the block below as its parent.`),
      table('Latest blocks', ['Height', 'When', 'Transactions', 'Hash', 'Integrity'], rows),
      lowest > 1 ? h('p', {}, h('a', { href: `#/blocks/before/${lowest - 1}` }, 'Older blocks')) : null);
  });
  page('The ledger', list.section);
  if (before) await list.run();
  else await keepFresh(list);
}

async function blockPage(height) {
  const names = myNames();
  const block = await api.get(`/blocks/${height}`);
  const check = await wallet.checkBlock(block);
  const rows = block.transactions.map((item) => h('tr', {},
    h('td', {}, h('a', { href: `#/tx/${item.hash}` }, `${item.hash.slice(0, 12)}…`)),
    h('td', {}, agentLink(item.transaction.signer, names)),
    h('td', {}, item.transaction.operation.type),
    h('td', { class: item.ok ? 'ok' : 'error' }, item.ok ? 'applied' : `refused: ${item.error}`)));
  page(`Block ${block.height}`,
    h('dl', { class: 'facts' },
      h('dt', {}, 'Hash'), h('dd', { class: 'mono' }, block.hash),
      h('dt', {}, 'Parent'), h('dd', { class: 'mono' }, block.height > 1 ? h('a', { href: `#/block/${block.height - 1}` }, block.parent) : block.parent),
      h('dt', {}, 'Time'), h('dd', {}, new Date(block.timestamp_ms).toLocaleString()),
      h('dt', {}, 'State root'), h('dd', { class: 'mono' }, block.state_root),
      h('dt', {}, 'Transaction root'), h('dd', { class: 'mono' }, block.tx_root)),
    h('h2', {}, 'Integrity, checked in your browser'),
    h('ul', { class: 'checks' }, check.map(([ok, text]) => h('li', { class: ok ? 'ok' : 'error' }, `${ok ? '✓' : '✗'} ${text}`))),
    table(`${block.transactions.length} transactions`, ['Transaction', 'Signer', 'Operation', 'Outcome'], rows));
}

async function txPage(hash) {
  const names = myNames();
  const tx = await api.get(`/transactions/${hash}`);
  const t = tx.transaction || {};
  page('Transaction',
    h('dl', { class: 'facts' },
      h('dt', {}, 'Hash'), h('dd', { class: 'mono' }, tx.hash),
      h('dt', {}, 'Status'), h('dd', {}, tx.status === 'finalized' ? ['finalized in ', h('a', { href: `#/block/${tx.height}` }, `block ${tx.height}`)] : tx.status),
      h('dt', {}, 'Outcome'), h('dd', { class: tx.ok ? 'ok' : 'error' }, tx.ok ? 'applied' : `refused: ${tx.error || '—'}. Nothing changed.`),
      h('dt', {}, 'Signer'), h('dd', {}, t.signer ? agentLink(t.signer, names) : '—'),
      h('dt', {}, 'Nonce'), h('dd', {}, String(t.nonce ?? '—'))),
    h('h2', {}, 'Operation'),
    h('pre', { class: 'json' }, JSON.stringify(t.operation, null, 2)));
}

async function keysPage() {
  const list = h('div');
  const render = () => {
    const keys = wallet.list();
    const active = wallet.active();
    fill(list, keys.length === 0 ? h('p', {}, 'No key in this browser yet.')
      : table('Keys in this browser', ['Name', 'Agent id', 'Use', 'Back up', 'Remove'], keys.map((key) => {
        const seedOut = h('output', { class: 'mono seed' });
        return h('tr', {},
          h('td', {}, key.name),
          h('td', { class: 'mono' }, h('a', { href: `#/agent/${key.agent}` }, key.agent)),
          h('td', {}, active && active.name === key.name ? 'in use'
            : h('button', { type: 'button', onclick: () => { wallet.use(key.name); render(); } }, 'Use this key')),
          h('td', {}, h('button', { type: 'button', onclick: () => fill(seedOut, key.seed) }, 'Show secret'), seedOut),
          h('td', {}, h('button', {
            type: 'button',
            class: 'danger',
            onclick: () => {
              if (confirm(`Remove ${key.name}? Without a backup of its secret, its memberships are lost for good.`)) {
                wallet.remove(key.name);
                render();
              }
            },
          }, 'Remove')));
      })));
  };
  render();
  const status = h('p', { role: 'status', 'aria-live': 'polite' });
  const makeForm = h('form', { 'aria-label': 'Make a key' },
    field('Name (for you only)', h('input', { name: 'name', required: true, maxlength: 40, autocomplete: 'off' })),
    h('button', { type: 'submit' }, 'Make a new key'));
  makeForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const key = await wallet.create(String(new FormData(makeForm).get('name')).trim());
      fill(status, `Made ${key.name}: ${key.agent}. Back up its secret.`);
      makeForm.reset();
      render();
    } catch (error) {
      fill(status, error.message);
    }
  });
  const importForm = h('form', { 'aria-label': 'Import a key' },
    field('Name', h('input', { name: 'name', required: true, maxlength: 40, autocomplete: 'off' })),
    field('Secret (64 hex digits, as `stigmer key` keeps it)', h('input', { name: 'seed', required: true, autocomplete: 'off', pattern: '[0-9a-fA-F]{64}', class: 'mono' })),
    h('button', { type: 'submit' }, 'Import'));
  importForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(importForm);
    try {
      const key = await wallet.importSeed(String(data.get('name')).trim(), String(data.get('seed')).trim());
      fill(status, `Imported ${key.name}: ${key.agent}.`);
      importForm.reset();
      render();
    } catch (error) {
      fill(status, error.message);
    }
  });
  page('My keys',
    h('p', { class: 'lead' }, 'A key is who you are on the ledger. It is made and kept in this browser and signs your transactions here; the node only receives what you signed. Anyone with its secret can act as you: back it up somewhere safe.'),
    list, status,
    h('div', { class: 'forms' }, makeForm, importForm));
}

async function newDcPage() {
  const me = wallet.active();
  if (!me) {
    page('Found a cooperative', needKey());
    return;
  }
  const form = txForm('Found a cooperative', [
    field('Short id (letters, digits, -)', h('input', { name: 'id', required: true, pattern: '[a-z0-9][a-z0-9_\\-]{0,31}', autocomplete: 'off' })),
    field('Name', h('input', { name: 'name', required: true, maxlength: 80 })),
    field('Token symbol', h('input', { name: 'symbol', required: true, pattern: '[A-Za-z0-9]{1,12}', value: 'COOP' })),
    field('Kinds of work that are scored (comma-separated)', h('input', { name: 'kinds', value: 'work', required: true })),
    field('Scale evaluators choose from', h('select', { name: 'scale' },
      h('option', { value: '0-1' }, 'no / yes (0 or 1)'), h('option', { value: '0-5' }, '0 to 5'))),
    field('Also a thanks-only kind named', h('input', { name: 'care', value: 'care' }), 'Recorded and thanked, never scored. Leave empty for none.'),
    field('Founders besides you (agent ids, one per line)', h('textarea', { name: 'founders', rows: 3 })),
    field('Reputation of each founder', h('input', { name: 'reputation', value: '10', inputmode: 'decimal' })),
    field('Tokens of each founder', h('input', { name: 'tokens', value: '100', inputmode: 'decimal' })),
    field('Reputation of a newcomer who joins', h('input', { name: 'join_reputation', value: '1', inputmode: 'decimal' })),
    field('Tokens of a newcomer who joins', h('input', { name: 'join_tokens', value: '5', inputmode: 'decimal' }),
      'Enough to pay the fee of a first contribution.'),
  ], (data) => {
    const scale = data.get('scale') === '0-5' ? ['0', '1', '2', '3', '4', '5'] : ['0', '1'];
    const scoredType = {
      fee: '1', stake: '0.02', distribution_stake: '0.08', reward_threshold: '0.5',
      token_reward_factor: '50', reputation_reward_factor: '5', evaluation_set: scale,
      evaluator_token_fund: '10', thanks_only: false,
    };
    const types = {};
    for (const kind of String(data.get('kinds')).split(',').map((k) => k.trim()).filter(Boolean)) types[kind] = { ...scoredType };
    const care = String(data.get('care') || '').trim();
    if (care) types[care] = { ...scoredType, fee: '0', evaluator_token_fund: '0', evaluation_set: ['0', '1'], thanks_only: true };
    const others = String(data.get('founders') || '').split(/\s+/).map((a) => a.trim()).filter(Boolean);
    const reputation = String(data.get('reputation')).trim();
    const tokens = String(data.get('tokens')).trim();
    return {
      type: 'create_dc',
      id: String(data.get('id')).trim(),
      name: String(data.get('name')).trim(),
      token_symbol: String(data.get('symbol')).trim(),
      params: {
        rules: 'backfeed', beta: '0.5', referral_fraction: '0.2', reward_evaluators_with_tokens: true,
        initial_reputation: String(data.get('join_reputation')).trim(),
        initial_tokens: String(data.get('join_tokens')).trim(),
      },
      types,
      founders: [me.agent, ...others.filter((a) => a !== me.agent)].map((agent) => ({ agent, reputation, tokens })),
    };
  }, {
    button: 'Found it',
    after: (answer) => { location.hash = `#/tx/${answer.hash}`; },
  });
  page('Found a cooperative', h('p', { class: 'lead' }, `You (${me.name}) will be its steward and first founder.`), form);
}

// -------------------------------------------------------------------- start

window.addEventListener('hashchange', route);
connectEvents();
route();
