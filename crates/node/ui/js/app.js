// The stigmer web UI: pages for people, over the same API as the CLI.
// Transactions are signed here, in the browser, with a key kept in this
// browser's storage; the node only ever sees signed transactions.
//
// Every word a page shows goes through the catalogs (`t(...)`, see
// `i18n.js`), and every explanation of a change is worded from the data the
// node gives (`explain.js`): a new page is written that way from its first
// line.

import { h, fill } from './dom.js';
import * as api from './api.js';
import * as charts from './charts.js';
import * as i18n from './i18n.js';
import { t, tn } from './i18n.js';
import { explain } from './explain.js';
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

/**
 * What went wrong, in the reader's language: a sentence of the UI's own for
 * the case, then the detail as the node or the browser gave it (in English;
 * it names the field or the rule for whoever helps).
 */
function problem(error) {
  if (error instanceof i18n.SaidError) return error.message;
  if (error instanceof api.ApiError) {
    return error.detail ? t('error.nodeSaid', { status: error.status, detail: error.detail }) : t('error.node', { status: error.status });
  }
  if (error && error.name === 'EncodingError') return t('error.encoding', { field: error.field, detail: error.reason });
  return t('error.browser', { detail: (error && error.message) || String(error) });
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
  page(t('notFound.title'), h('p', {}, t('notFound.text'), ' ', h('a', { href: '#/' }, t('nav.backHome'))));
}

function showError(error) {
  page(t('error.title'),
    h('p', { class: 'error' }, problem(error)),
    h('p', {}, h('a', { href: '#/' }, t('nav.backHome'))));
}

/** Sets the page title and content. */
function page(title, ...children) {
  document.title = t('page.title', { page: title });
  fill(main, h('h1', {}, title), ...children);
}

/** A section whose content `load` fills, again after each new block. */
function liveSection(label, load) {
  const body = h('div', { class: 'section-body' }, h('p', { class: 'muted' }, t('page.loading')));
  const section = h('section', { 'aria-label': label }, body);
  const run = async () => {
    try {
      const content = await load();
      fill(body, content);
    } catch (error) {
      fill(body, h('p', { class: 'error' }, problem(error)));
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
/** The last block announced, to say it again in another language. */
let lastBlock = null;
let reconnecting = false;

function showLive() {
  if (reconnecting) {
    fill(live, t('live.reconnecting'));
  } else if (lastBlock) {
    fill(live, t('live.block', { height: lastBlock.height, count: lastBlock.transactions }));
    live.title = t('live.stateRoot', { root: lastBlock.state_root });
  } else {
    fill(live, t('live.connecting'));
  }
}

function connectEvents() {
  const source = new EventSource('/api/v1/events');
  source.addEventListener('block', (event) => {
    const block = JSON.parse(event.data);
    lastBlock = block;
    reconnecting = false;
    showLive();
    if (lastTransactions !== null && block.transactions !== lastTransactions && refreshPage) {
      // Many blocks may come at once: read again at most twice a second.
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(() => refreshPage && refreshPage(), 500);
    }
    lastTransactions = block.transactions;
  });
  source.onerror = () => {
    reconnecting = true;
    showLive();
  };
}

// ---------------------------------------------------------------- language

/** The language chooser in the header, on every page. */
function languageChooser() {
  const select = document.getElementById('language');
  fill(select, Object.entries(i18n.LANGUAGES).map(([code, name]) => h('option', { value: code, lang: code }, name)));
  select.value = i18n.current();
  select.addEventListener('change', async () => {
    const code = select.value;
    i18n.remember(code);
    await i18n.load(code);
    i18n.translateDocument();
    showLive();
    // The page is drawn again in the new language; what was typed is lost,
    // which is why the chooser is not in the middle of a form.
    await route();
  });
}

// ------------------------------------------------------------------ helpers

function agentLink(agent, names) {
  // A DC's own account has an agent page too (it links to the DC).
  return h('a', { href: `#/agent/${api.enc(agent)}`, class: 'agent', title: agent }, words.agentName(agent, names));
}

function txLink(transaction, text) {
  if (!transaction) return '';
  if (transaction.genesis) return t('tx.genesis');
  return h('a', { href: `#/tx/${transaction.hash}`, title: transaction.hash }, text || t('tx.inBlock', { height: transaction.height }));
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
  for (const key of wallet.list()) names[key.agent] = t('agent.you', { name: key.name });
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
      announce(className, tn('form.about', { form: label, answer: h('span', {}, copy(content)) }));
    };
    say('', t('form.sending'));
    try {
      const op = await operation(new FormData(form));
      const answer = await wallet.submit(op);
      const link = (text) => txLink({ hash: answer.hash, height: answer.height }, text);
      if (answer.status === 'finalized' && answer.ok) {
        say('ok', tn('form.done', { block: link() }));
        if (after) after(answer);
      } else if (answer.status === 'finalized') {
        say('error', tn('form.refused', { detail: answer.error, transaction: link(t('form.seeTransaction')) }));
      } else {
        say('', t('form.waiting'));
      }
      if (refreshPage) refreshPage();
    } catch (error) {
      say('error', problem(error));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** A copy of page content (nodes may be in one place only). */
function copy(content) {
  if (Array.isArray(content)) return content.map(copy);
  return content instanceof Node ? content.cloneNode(true) : content;
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
  return h('p', { class: 'notice' }, tn('keys.needed', { link: h('a', { href: '#/keys' }, t('keys.neededLink')) }));
}

// -------------------------------------------------------------------- pages

async function homePage() {
  const status = await api.get('/status');
  const list = liveSection(t('home.list'), async () => {
    const { items: dcs } = await api.getAll('/dcs?limit=100', 'dcs');
    if (dcs.length === 0) return h('p', {}, t('home.none'), ' ', h('a', { href: '#/new-dc' }, t('home.foundFirst')));
    return h('ul', { class: 'cards' }, dcs.map((dc) => h('li', { class: 'card' },
      h('h2', {}, h('a', { href: `#/dc/${api.enc(dc.id)}` }, dc.name)),
      h('p', {}, t('home.members', { count: dc.n_members }), ' · ', t('home.contributions', { count: dc.n_contributions })),
      h('p', {}, tn('home.supply', { supply: words.amount(dc.token_supply), symbol: dc.token_symbol, reputation: words.amount(dc.total_reputation) })))));
  });
  page(t('home.title'),
    h('p', { class: 'lead' }, t('home.ledger', { chain: status.chain_id, count: status.validators.length }), ' ', t('home.intro')),
    list.section,
    h('p', {}, h('a', { href: '#/new-dc', class: 'button' }, t('home.found'))));
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
    mine = h('section', { 'aria-label': t('join.title') },
      h('h2', {}, t('join.title')),
      h('p', {}, member ? t('join.notAnyMore', { name: me.name }) : t('join.notYet', { name: me.name })),
      txForm(t('join.form'), [
        field(t('join.referrer'), h('input', { name: 'referrer', autocomplete: 'off', placeholder: t('join.referrerPlaceholder') }),
          t('join.referrerHelp')),
      ], (data) => {
        const op = { type: 'join', dc: id };
        const referrer = String(data.get('referrer') || '').trim();
        if (referrer) op.referrer = referrer;
        return op;
      }, { button: t('join.button'), after: () => route() }));
  } else {
    const balance = liveSection(t('you.balances'), async () => {
      const now = (await allMembers()).find((m) => m.agent === me.agent) || member;
      return h('p', {}, tn('you.balance', {
        reputation: words.amount(now.reputation),
        tokens: words.amount(now.tokens),
        symbol,
        why: h('a', { href: `#/agent/${api.enc(me.agent)}` }, t('you.why')),
      }));
    });
    liveParts.push(balance);
    const scored = Object.entries(dcData.types).filter(([, type]) => !type.thanks_only).map(([n]) => n);
    // Scored kinds first: they are what most contributions are.
    const typeNames = [...scored, ...Object.keys(dcData.types).filter((n) => !scored.includes(n))];
    mine = h('section', { 'aria-label': t('you.section') },
      h('h2', {}, t('you.title', { name: me.name })),
      balance.section,
      h('div', { class: 'forms' },
        txForm(t('contribute.form'), [
          field(t('contribute.what'), h('input', { name: 'title', required: true, maxlength: 200 })),
          field(t('contribute.kind'), h('select', { name: 'kind' }, typeNames.map((name) => h('option', { value: name },
            dcData.types[name].thanks_only ? t('contribute.thanksOnlyKind', { name }) : name))),
          scored.length ? t('contribute.kindHelp', { symbol }) : undefined),
        ], (data) => ({
          type: 'contribute',
          dc: id,
          id: `${String(data.get('kind'))}-${Date.now().toString(36)}`,
          contribution_type: String(data.get('kind')),
          title: String(data.get('title')),
        }), { button: t('contribute.button') }),
        txForm(t('send.form', { symbol }), [
          field(t('send.to'), h('input', { name: 'to', required: true, autocomplete: 'off', pattern: '[0-9a-fA-F]{64}|dc:.+' })),
          field(t('send.amount', { symbol }), h('input', { name: 'amount', required: true, inputmode: 'decimal', pattern: '[0-9]+(\\.[0-9]{1,18})?' })),
        ], (data) => ({
          type: 'transfer', dc: id, to: String(data.get('to')).trim(), amount: String(data.get('amount')).trim(), asset: 'tokens',
        }), { button: t('send.button') })));
  }

  const members = liveSection(t('dc.members'), async () => {
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
    const gini = words.round(charts.gini(reputations), 2);
    const concentration = words.concentration(dc.majority_holders);
    return h('div', {},
      h('p', concentration.warn ? { class: 'warning', role: 'note' } : { class: 'muted' }, concentration.text),
      h('div', { class: 'two' },
        table(t('dc.membersCaption', { count: active.length }),
          [t('dc.column.member'), t('dc.column.status'), t('dc.column.reputation'), t('dc.column.share'), symbol], rows),
        h('figure', {},
          charts.lorenz(reputations, { label: t('chart.lorenz', { gini }), xLabel: t('chart.lorenzX'), yLabel: t('chart.lorenzY') }),
          h('figcaption', {}, t('chart.lorenzCaption', { gini })))));
  });

  // Pages shown so far: "Show more" reads one more (newest first).
  let pagesShown = 1;
  const contributions = liveSection(t('dc.contributions'), async () => {
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
        h('td', {}, c.thanks_only ? h('span', { class: 'muted' }, t('dc.thanks', { count: c.n_thanks }))
          : [charts.bar(share, threshold, t('dc.engagedBar', { share: words.percent(share), threshold: words.percent(threshold) })),
            ' ', words.percent(share)]),
        h('td', { class: 'n' }, c.thanks_only ? '—' : String(c.n_evaluations)),
        h('td', { class: 'n' }, c.thanks_only ? '—' : words.amount(c.tokens_issued)));
    });
    const more = cursor !== null
      ? h('p', {}, h('button', {
        type: 'button',
        onclick: () => { pagesShown += 1; contributions.run(); },
      }, t('page.showMore', { shown: shown.length, count: dc.n_contributions })))
      : null;
    return h('div', {},
      table(t('dc.contributionsCaption', { count: dc.n_contributions }),
        [t('dc.column.contribution'), t('dc.column.kind'), t('dc.column.by'), t('dc.column.engaged'), t('dc.column.evaluations'), t('dc.column.issued', { symbol })], rows),
      more);
  });

  const history = liveSection(t('dc.history'), async () => {
    const { points } = await api.get(`/dcs/${api.enc(id)}/history`);
    const start = points.length ? points[0].timestamp_ms || 0 : 0;
    const minutes = (p) => ((p.timestamp_ms || start) - start) / 60000;
    const supply = points.map((p) => [minutes(p), Number(p.token_supply)]);
    const issued = points.map((p) => [minutes(p), Number(p.issued_for_work)]);
    const last = points[points.length - 1];
    return h('figure', {},
      charts.lines([{ name: t('chart.supply', { symbol }), points: supply }, { name: t('chart.issued', { symbol }), points: issued }],
        { xLabel: t('chart.minutesX'), yLabel: symbol, label: t('chart.history', { symbol }) }),
      h('figcaption', {}, last
        ? t('chart.historyCaption', { supply: words.round(last.token_supply), issued: words.round(last.issued_for_work), symbol })
        : t('chart.noTokens')));
  });

  page(dcData.name,
    h('p', { class: 'lead' }, tn('dc.lead', {
      symbol,
      steward: agentLink(dcData.steward, names),
      treasury: words.amount(dcData.treasury),
    })),
    mine,
    h('h2', {}, t('dc.members')), members.section,
    h('h2', {}, t('dc.contributions')), contributions.section,
    h('h2', {}, t('dc.history')), history.section,
    h('h2', {}, t('dc.rules')),
    h('ul', {}, words.describeParams(dcData).map((line) => h('li', {}, line))),
    h('ul', {}, Object.entries(dcData.types).map(([name, type]) => h('li', {}, words.describeType(name, type, symbol)))));
  await keepFresh(...liveParts, members, contributions, history);
}

function describeEvaluation(e) {
  const f = e.figures || {};
  const parts = [t('evaluation.moment', {
    engaged: words.round(f.engaged_reputation),
    total: words.round(f.total_reputation),
    agreeing: words.round(f.agreeing_reputation),
  })];
  if (f.first) parts.push(t('evaluation.first'));
  if (f.score_max_after !== f.score_max_before) {
    parts.push(t('evaluation.scoreRose', { before: words.round(f.score_max_before), after: words.round(f.score_max_after) }));
  }
  if (f.median !== undefined) parts.push(t('evaluation.median', { median: words.round(f.median) }));
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
  const summary = liveSection(t('contribution.standing'), async () => {
    const c = await whole();
    const dcNow = await api.get(`/dcs/${api.enc(dcId)}`);
    const share = Number(c.engaged_reputation) / (Number(dcNow.total_reputation) || 1);
    if (c.thanks_only) {
      return h('div', {}, h('p', {}, t('contribution.thanksOnly', { kind: c.type, count: c.n_thanks })),
        h('ul', {}, c.thanks.map((thanks) => h('li', {}, tn('contribution.thankedBy', { who: agentLink(thanks.from, names), transaction: txLink(thanks.transaction) })))));
    }
    const points = c.evaluations.map((e, index) => [index + 1,
      Number(e.figures.engaged_reputation) / (Number(e.figures.total_reputation) || 1)]);
    return h('div', { class: 'two' },
      h('div', {},
        h('p', {}, charts.bar(share, threshold, t('contribution.engagedBar', { share: words.percent(share) })), ' ',
          t('contribution.engaged', { share: words.percent(share, 1), threshold: words.percent(threshold) })),
        h('p', {}, tn('contribution.issued', {
          score: words.round(c.score_max),
          tokens: words.amount(c.tokens_issued),
          symbol,
          reputation: words.amount(c.reputation_issued),
        }), ' · ', t('contribution.thanks', { count: c.n_thanks }))),
      h('figure', {},
        charts.lines([{ name: t('chart.engagedShare'), points: [[0, 0], ...points] }],
          { xLabel: t('chart.evaluationsX'), yLabel: t('chart.shareY'), label: t('chart.engaged'), threshold, yMax: 1 }),
        h('figcaption', {}, t('chart.engagedCaption', { threshold: words.percent(threshold) }))));
  });

  const evaluations = liveSection(t('contribution.evaluations'), async () => {
    const c = await whole();
    if (c.evaluations.length === 0) return h('p', { class: 'muted' }, c.thanks_only ? t('contribution.notEvaluated') : t('contribution.noEvaluation'));
    return h('ol', { class: 'timeline' }, c.evaluations.map((e) => h('li', { class: e.superseded ? 'superseded' : '' },
      h('p', {}, e.superseded
        ? tn('contribution.valuedChanged', { who: agentLink(e.evaluator, names), value: words.round(e.value) })
        : tn('contribution.valued', { who: agentLink(e.evaluator, names), value: words.round(e.value) }),
      ' · ', txLink(e.transaction)),
      h('p', { class: 'explain' }, describeEvaluation(e)))));
  });

  let act = null;
  if (!me) {
    act = needKey();
  } else if (me.agent === first.contributor && (first.thanks_only || dc.rules === 'backfeed')) {
    // The node would refuse both: one's own work is for the others.
    act = h('p', { class: 'muted' }, t('contribution.own'));
  } else if (first.thanks_only) {
    act = txForm(t('thank.form'), [], () => ({ type: 'thank', dc: dcId, contribution: id }), { button: t('thank.button') });
  } else {
    const choices = h('fieldset', { class: 'choices' }, h('legend', {}, t('evaluate.legend')),
      type.evaluation_set.map((value, index) => {
        const inputId = `v-${index}`;
        return h('span', { class: 'choice' },
          h('input', { type: 'radio', name: 'value', value, id: inputId, required: true }),
          h('label', { for: inputId }, words.round(value, 18)));
      }));
    act = h('div', { class: 'forms' },
      txForm(t('evaluate.form'), [choices,
        h('p', { class: 'muted' }, t('evaluate.help'))],
      (data) => ({ type: 'evaluate', dc: dcId, contribution: id, value: String(data.get('value')) }), { button: t('evaluate.button') }),
      txForm(t('thank.form'), [], () => ({ type: 'thank', dc: dcId, contribution: id }), { button: t('thank.button') }));
  }

  page(first.title || first.id,
    h('p', { class: 'lead' }, tn('contribution.lead', {
      kind: first.type,
      dc: h('a', { href: `#/dc/${api.enc(dcId)}` }, dc.name),
      who: agentLink(first.contributor, names),
    })),
    summary.section,
    h('h2', {}, t('contribution.takePart')), act,
    h('h2', {}, t('contribution.overTime')), evaluations.section);
  await keepFresh(summary, evaluations);
}

async function agentPage(agent) {
  const names = myNames();
  // Pages of the log shown so far: "Show more" reads one more (older).
  let pagesShown = 1;
  const body = liveSection(t('agent.account'), async () => {
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
      h('td', { class: 'n' }, h('span', {}, words.amount(m.tokens), ' ', m.token_symbol))));
    const stakeRows = Object.entries(stakes).map(([dc, r]) => h('tr', {},
      h('td', {}, dc), h('td', { class: 'n' }, words.round(r.evaluations, 0)),
      h('td', { class: 'n' }, words.round(r.staked, 4)), h('td', { class: 'n' }, words.round(r.regained, 4)),
      h('td', { class: 'n' }, words.round(r.regained - r.staked, 4)), h('td', { class: 'n' }, words.round(r.rewards, 4))));
    const who = (id) => agentLink(id, names);
    const log = entries.map((entry) => h('tr', {},
      h('td', {}, entry.dc), h('td', {}, txLink(entry.transaction)),
      h('td', { class: 'explain' }, explain(entry, who)),
      h('td', { class: 'n' }, words.change(entry.reputation_change) || ''),
      h('td', { class: 'n' }, words.change(entry.tokens_change) || '')));
    const more = cursor !== null
      ? h('p', {}, h('button', {
        type: 'button',
        onclick: () => { pagesShown += 1; body.run(); },
      }, t('page.showMore', { shown: entries.length, count: data.n_log_entries })))
      : null;
    return h('div', {},
      table(t('agent.memberships'), [t('agent.column.dc'), t('agent.column.status'), t('agent.column.reputation'), t('agent.column.tokens')], membershipRows),
      h('h2', {}, t('agent.stakeRecord')),
      table(cursor !== null ? t('agent.stakeCaptionPartial') : t('agent.stakeCaption'),
        [t('agent.column.dc'), t('agent.column.evaluations'), t('agent.column.staked'), t('agent.column.regained'), t('agent.column.net'), t('agent.column.earned')], stakeRows),
      h('h2', {}, t('agent.changes')),
      table(t('agent.changesCaption'),
        [t('agent.column.dc'), t('agent.column.transaction'), t('agent.column.what'), t('agent.column.reputation'), t('agent.column.tokens')], log, 'log'),
      more);
  });
  // A DC's own account: the account through which the DC acts elsewhere.
  const ownDc = agent.startsWith('dc:') ? agent.slice(3) : null;
  page(ownDc ? t('agent.dcTitle', { dc: ownDc }) : t('agent.title', { name: words.agentName(agent, names) }),
    h('p', { class: 'lead mono' }, agent),
    ownDc ? h('p', {}, t('agent.dcText'), ' ', h('a', { href: `#/dc/${api.enc(ownDc)}` }, t('agent.dcLink'))) : null,
    body.section);
  await keepFresh(body);
}

async function blocksPage(before) {
  const list = liveSection(t('blocks.section'), async () => {
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
        h('td', { class: 'n' }, words.round(block.n_transactions, 0)),
        h('td', { class: 'mono' }, `${block.hash.slice(0, 16)}…`),
        h('td', { class: ok ? 'ok' : 'error' }, ok ? t('blocks.checksOut') : t('blocks.doesNotCheckOut')));
    });
    const lowest = data.blocks.length ? data.blocks[data.blocks.length - 1].height : 0;
    return h('div', {},
      h('p', {}, t('blocks.height', { height: data.height })),
      table(t('blocks.caption'), [t('blocks.column.height'), t('blocks.column.when'), t('blocks.column.transactions'), t('blocks.column.hash'), t('blocks.column.integrity')], rows),
      lowest > 1 ? h('p', {}, h('a', { href: `#/blocks/before/${lowest - 1}` }, t('blocks.older'))) : null);
  });
  page(t('blocks.title'), list.section);
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
    h('td', { class: item.ok ? 'ok' : 'error' }, item.ok ? t('tx.applied') : t('tx.refused', { detail: item.error }))));
  page(t('block.title', { height: block.height }),
    h('dl', { class: 'facts' },
      h('dt', {}, t('block.hash')), h('dd', { class: 'mono' }, block.hash),
      h('dt', {}, t('block.parent')), h('dd', { class: 'mono' }, block.height > 1 ? h('a', { href: `#/block/${block.height - 1}` }, block.parent) : block.parent),
      h('dt', {}, t('block.time')), h('dd', {}, i18n.dateTime(block.timestamp_ms)),
      h('dt', {}, t('block.stateRoot')), h('dd', { class: 'mono' }, block.state_root),
      h('dt', {}, t('block.txRoot')), h('dd', { class: 'mono' }, block.tx_root)),
    h('h2', {}, t('block.integrity')),
    h('ul', { class: 'checks' }, check.map(([ok, text]) => h('li', { class: ok ? 'ok' : 'error' }, `${ok ? '✓' : '✗'} ${text}`))),
    table(t('block.transactions', { count: block.transactions.length }),
      [t('block.column.transaction'), t('block.column.signer'), t('block.column.operation'), t('block.column.outcome')], rows));
}

async function txPage(hash) {
  const names = myNames();
  const tx = await api.get(`/transactions/${hash}`);
  const op = tx.transaction || {};
  const status = tx.status === 'finalized'
    ? tn('tx.finalizedIn', { block: h('a', { href: `#/block/${tx.height}` }, t('tx.inBlock', { height: tx.height })) })
    : t('tx.pending');
  page(t('tx.title'),
    h('dl', { class: 'facts' },
      h('dt', {}, t('tx.hash')), h('dd', { class: 'mono' }, tx.hash),
      h('dt', {}, t('tx.status')), h('dd', {}, status),
      h('dt', {}, t('tx.outcome')), h('dd', { class: tx.ok ? 'ok' : 'error' }, tx.ok ? t('tx.applied') : t('tx.refusedNothingChanged', { detail: tx.error || '—' })),
      h('dt', {}, t('tx.signer')), h('dd', {}, op.signer ? agentLink(op.signer, names) : '—'),
      h('dt', {}, t('tx.nonce')), h('dd', {}, String(op.nonce ?? '—'))),
    h('h2', {}, t('tx.operation')),
    h('pre', { class: 'json' }, JSON.stringify(op.operation, null, 2)));
}

async function keysPage() {
  const list = h('div');
  const render = () => {
    const keys = wallet.list();
    const active = wallet.active();
    fill(list, keys.length === 0 ? h('p', {}, t('keys.none'))
      : table(t('keys.caption'), [t('keys.column.name'), t('keys.column.agent'), t('keys.column.use'), t('keys.column.backup'), t('keys.column.remove')], keys.map((key) => {
        const seedOut = h('output', { class: 'mono seed' });
        return h('tr', {},
          h('td', {}, key.name),
          h('td', { class: 'mono' }, h('a', { href: `#/agent/${key.agent}` }, key.agent)),
          h('td', {}, active && active.name === key.name ? t('keys.inUse')
            : h('button', { type: 'button', onclick: () => { wallet.use(key.name); render(); } }, t('keys.use'))),
          h('td', {}, h('button', { type: 'button', onclick: () => fill(seedOut, key.seed) }, t('keys.showSecret')), seedOut),
          h('td', {}, h('button', {
            type: 'button',
            class: 'danger',
            onclick: () => {
              if (confirm(t('keys.confirmRemove', { name: key.name }))) {
                wallet.remove(key.name);
                render();
              }
            },
          }, t('keys.remove'))));
      })));
  };
  render();
  const status = h('p', { role: 'status', 'aria-live': 'polite' });
  const makeForm = h('form', { 'aria-label': t('keys.makeForm') },
    field(t('keys.name'), h('input', { name: 'name', required: true, maxlength: 40, autocomplete: 'off' })),
    h('button', { type: 'submit' }, t('keys.make')));
  makeForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const key = await wallet.create(String(new FormData(makeForm).get('name')).trim());
      fill(status, t('keys.made', { name: key.name, agent: key.agent }));
      makeForm.reset();
      render();
    } catch (error) {
      fill(status, problem(error));
    }
  });
  const importForm = h('form', { 'aria-label': t('keys.importForm') },
    field(t('keys.importName'), h('input', { name: 'name', required: true, maxlength: 40, autocomplete: 'off' })),
    field(t('keys.secret'), h('input', { name: 'seed', required: true, autocomplete: 'off', pattern: '[0-9a-fA-F]{64}', class: 'mono' })),
    h('button', { type: 'submit' }, t('keys.import')));
  importForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(importForm);
    try {
      const key = await wallet.importSeed(String(data.get('name')).trim(), String(data.get('seed')).trim());
      fill(status, t('keys.imported', { name: key.name, agent: key.agent }));
      importForm.reset();
      render();
    } catch (error) {
      fill(status, problem(error));
    }
  });
  page(t('keys.title'),
    h('p', { class: 'lead' }, t('keys.lead')),
    list, status,
    h('div', { class: 'forms' }, makeForm, importForm));
}

async function newDcPage() {
  const me = wallet.active();
  if (!me) {
    page(t('found.title'), needKey());
    return;
  }
  const form = txForm(t('found.title'), [
    field(t('found.id'), h('input', { name: 'id', required: true, pattern: '[a-z0-9][a-z0-9_\\-]{0,31}', autocomplete: 'off' })),
    field(t('found.name'), h('input', { name: 'name', required: true, maxlength: 80 })),
    field(t('found.symbol'), h('input', { name: 'symbol', required: true, pattern: '[A-Za-z0-9]{1,12}', value: 'COOP' })),
    field(t('found.kinds'), h('input', { name: 'kinds', value: t('found.kindsDefault'), required: true })),
    field(t('found.scale'), h('select', { name: 'scale' },
      h('option', { value: '0-1' }, t('found.scaleYesNo')), h('option', { value: '0-5' }, t('found.scaleFive')))),
    field(t('found.care'), h('input', { name: 'care', value: t('found.careDefault') }), t('found.careHelp')),
    field(t('found.founders'), h('textarea', { name: 'founders', rows: 3 })),
    field(t('found.reputation'), h('input', { name: 'reputation', value: '10', inputmode: 'decimal' })),
    field(t('found.tokens'), h('input', { name: 'tokens', value: '100', inputmode: 'decimal' })),
    field(t('found.joinReputation'), h('input', { name: 'join_reputation', value: '1', inputmode: 'decimal' })),
    field(t('found.joinTokens'), h('input', { name: 'join_tokens', value: '5', inputmode: 'decimal' }),
      t('found.joinTokensHelp')),
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
    button: t('found.button'),
    after: (answer) => { location.hash = `#/tx/${answer.hash}`; },
  });
  page(t('found.title'), h('p', { class: 'lead' }, t('found.lead', { name: me.name })), form);
}

// -------------------------------------------------------------------- start

await i18n.load(i18n.preferred());
i18n.translateDocument();
languageChooser();
showLive();
window.addEventListener('hashchange', route);
connectEvents();
route();
