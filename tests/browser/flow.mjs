// The main flows of the web UI in headless Chromium, against a real node:
// three people, each in their own browser, make keys; one founds a
// cooperative with another; a newcomer joins with a new key and records a
// contribution; the founders evaluate it until enough reputation has spoken;
// the newcomer sees the reward and why. Every page is also checked at phone
// width, pages are screenshotted, and any console error fails the run.
//
// In three languages: the whole flow runs once for people whose browsers
// prefer Korean (ko-KR), once for Spanish (es-EC) and once for English, each
// on a cooperative of its own, with screenshots of the dashboard and the
// explained reward in each (dashboard-ko.png, reward-es.png...); then
// readers switch language with the selector. Every assertion on words
// reads them from the catalogs (crates/node/ui/i18n/*.json), so the test says
// what a reader of that language sees.
//
// Usage: node flow.mjs STIGMER_BINARY SCREENSHOT_DIR

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const [binary = '../../target/debug/stigmer', shots = '../../target/screenshots'] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 30_000;
const CATALOGS = new URL('../../crates/node/ui/i18n/', import.meta.url);
const catalogs = Object.fromEntries(['ko', 'es', 'en'].map((code) => [code, JSON.parse(readFileSync(new URL(`${code}.json`, CATALOGS), 'utf8'))]));

mkdirSync(shots, { recursive: true });
const scratch = mkdtempSync(join(tmpdir(), 'stigmer-browser-'));
const problems = [];
const people = [];
let node;
let browser;

function fail(message) {
  throw new Error(message);
}

/** A message of `code`'s catalog, as the UI's `t` writes it. */
function say(code, key, params = {}) {
  let message = catalogs[code][key] ?? fail(`no key ${key} in ${code}.json`);
  if (typeof message === 'object') {
    const form = new Intl.PluralRules(code).select(Number(params.count ?? 0));
    message = message[form] ?? message.other;
  }
  return message.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A regular expression for a message of `code`'s catalog: `params` fill
 * their placeholders exactly, the others match anything (numbers the test
 * does not predict). Every plural form is allowed.
 */
function like(code, key, params = {}) {
  const message = catalogs[code][key] ?? fail(`no key ${key} in ${code}.json`);
  const forms = typeof message === 'object' ? Object.values(message) : [message];
  const patterns = forms.map((form) => form.split(/(\{\w+\})/).map((part) => {
    const name = part.match(/^\{(\w+)\}$/)?.[1];
    if (!name) return escape(part);
    return name in params ? escape(String(params[name])) : '.+?';
  }).join(''));
  return new RegExp(patterns.map((p) => `(?:${p})`).join('|'));
}

/** An exact decimal as the UI writes it in `code`. */
function exact(code, text) {
  return new Intl.NumberFormat(code, { maximumFractionDigits: 18 }).format(text);
}

async function run(command, args) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (data) => { output += data; });
  child.stderr.on('data', (data) => { output += data; });
  const code = await new Promise((resolve) => child.on('close', resolve));
  if (code !== 0) fail(`${command} ${args.join(' ')} exited ${code}: ${output}`);
  return output;
}

async function startNode() {
  const dataDir = join(scratch, 'node');
  await run(binary, ['init', '--data-dir', dataDir, '--chain-id', 'browser-test']);
  node = spawn(binary, ['node', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--p2p-port', '0', '--block-interval-ms', '100'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const lines = createInterface({ input: node.stdout });
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the node did not start')), STEP_TIMEOUT_MS);
    lines.on('line', (line) => {
      if (line.startsWith('api ')) {
        clearTimeout(timer);
        resolve(line.slice(4).trim());
      }
    });
  });
  return address;
}

/** A person with their own browser storage, whose browser prefers `code`. */
async function person(name, base, code, viewport = { width: 1200, height: 900 }) {
  const locale = { ko: 'ko-KR', es: 'es-EC', en: 'en-US' }[code];
  const context = await browser.newContext({ viewport, baseURL: base, locale });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${name}: console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`${name}: page error: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 500) problems.push(`${name}: ${response.status()} from ${response.url()}`);
  });
  const who = { name, context, page, code, say: (key, params) => say(code, key, params), like: (key, params) => like(code, key, params) };
  people.push(who);
  return who;
}

async function shot(who, label) {
  await who.page.screenshot({ path: join(shots, `${label}.png`), fullPage: true });
}

async function makeKey(who) {
  await who.page.goto('/#/keys');
  await who.page.getByLabel(who.say('keys.name')).fill(who.name);
  await who.page.getByRole('button', { name: who.say('keys.make') }).click();
  const status = who.page.getByRole('status').filter({ hasText: who.like('keys.made', { name: who.name }) });
  await status.waitFor();
  const text = await status.textContent();
  const agent = text.match(/[0-9a-f]{64}/)?.[0] || fail(`no agent id in ${text}`);
  who.agent = agent;
  return agent;
}

/** Waits for the answer to `who`'s last transaction; fails on anything but success. */
async function expectDone(who) {
  const notice = who.page.locator('#notice');
  await notice.filter({ hasNotText: who.say('form.sending') }).filter({ hasText: /./ }).waitFor();
  const text = await notice.textContent();
  if (!who.like('form.done').test(text)) fail(`${who.name}'s transaction was not applied: ${text}`);
}

/** Fails if `path` is wider than a phone (390 px) in `who`'s language. */
async function fitsAPhone(who, paths) {
  const size = who.page.viewportSize();
  await who.page.setViewportSize({ width: 390, height: 844 });
  for (const path of paths) {
    await who.page.goto(path);
    await who.page.locator('main h1').waitFor();
    await who.page.locator('main .section-body').first().filter({ hasNotText: who.say('page.loading') }).waitFor().catch(() => {});
    await who.page.waitForTimeout(300);
    const overflow = await who.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 1) fail(`${path} is ${overflow}px wider than a phone in ${who.code}`);
  }
  await who.page.setViewportSize(size);
}

/** The row of `who`'s view of `agent`'s log that explains the reward. */
function rewardRow(who, title) {
  return who.page.getByRole('row').filter({
    hasText: who.like('explain.rewardedMedian', {
      contribution: who.say('explain.contribution', { title }),
      before: exact(who.code, '0'),
      after: exact(who.code, '4'),
      tokens: exact(who.code, '40'),
      reputation: exact(who.code, '4'),
      symbol: 'SEED',
    }),
  }).first();
}

// The story each language's people act out, in their words.
const STORY = {
  ko: { dcName: '마을 텃밭', title: '퇴비함을 만들었어요', secondTitle: '모종에 물을 줬어요' },
  es: { dcName: 'Huerta del barrio', title: 'Armé una compostera', secondTitle: 'Regué los plantines' },
  en: { dcName: 'Neighbourhood garden', title: 'Built a compost bin', secondTitle: 'Watered the seedlings' },
};

/** The whole flow, by three people whose browsers prefer `code`. */
async function wholeFlow(base, code) {
  const { dcName, title, secondTitle } = STORY[code];
  const dc = `garden-${code}`;
  const ana = await person(`ana-${code}`, base, code);
  const bo = await person(`bo-${code}`, base, code);
  const dan = await person(`dan-${code}`, base, code, { width: 390, height: 844 }); // a phone
  const shotName = (label) => `${code}-${label}`;

  await makeKey(ana);
  await makeKey(bo);
  await makeKey(dan);
  await shot(ana, shotName('01-keys'));

  // Ana founds a cooperative with Bo.
  await ana.page.goto('/#/new-dc');
  await ana.page.getByLabel(ana.say('found.id'), { exact: true }).fill(dc);
  await ana.page.getByLabel(ana.say('found.name'), { exact: true }).fill(dcName);
  await ana.page.getByLabel(ana.say('found.symbol'), { exact: true }).fill('SEED');
  await ana.page.getByLabel(ana.say('found.scale'), { exact: true }).selectOption('0-5');
  await ana.page.getByLabel(ana.say('found.founders'), { exact: true }).fill(bo.agent);
  await shot(ana, shotName('02-found-form'));
  await ana.page.getByRole('button', { name: ana.say('found.button') }).click();
  await ana.page.waitForURL(/#\/tx\//);
  await ana.page.getByText(ana.say('tx.applied')).first().waitFor();
  await shot(ana, shotName('03-founded'));

  // Dan, on a phone, joins with his new key, using the keyboard only.
  await dan.page.goto(`/#/dc/${dc}`);
  const join = dan.page.getByRole('form', { name: dan.say('join.form') });
  await join.getByLabel(dan.say('join.referrer')).focus();
  await dan.page.keyboard.type(ana.agent);
  await dan.page.keyboard.press('Tab');
  await dan.page.keyboard.press('Enter');
  await expectDone(dan);

  // Dan records a contribution.
  const contribute = dan.page.getByRole('form', { name: dan.say('contribute.form') });
  await contribute.waitFor();
  await contribute.getByLabel(dan.say('contribute.what')).fill(title);
  await contribute.getByLabel(dan.say('contribute.kind'), { exact: true }).selectOption(dan.say('found.kindsDefault'));
  await contribute.getByRole('button', { name: dan.say('contribute.button') }).click();
  await expectDone(dan);
  await shot(dan, shotName('04-phone-dc-after-contributing'));

  // Ana and Bo evaluate it: together they hold most of the reputation.
  for (const [who, value] of [[ana, '4'], [bo, '5']]) {
    await who.page.goto(`/#/dc/${dc}`);
    await who.page.getByRole('link', { name: title }).click();
    const evaluate = who.page.getByRole('form', { name: who.say('evaluate.form') });
    await evaluate.getByText(value, { exact: true }).click();
    await evaluate.getByRole('button', { name: who.say('evaluate.button') }).click();
    await expectDone(who);
  }
  await ana.page.reload();
  await ana.page.getByText(ana.like('evaluation.scoreRose', { before: '0', after: '4' })).first().waitFor();
  await shot(ana, shotName('05-contribution-rewarded'));

  // Dan sees his reward and why, with the formula, in his language.
  await dan.page.goto(`/#/agent/${dan.agent}`);
  const reward = rewardRow(dan, title);
  await reward.waitFor();
  await shot(dan, shotName('06-phone-reward-explained'));
  await shot(dan, `reward-${code}`);

  // Ana thanks Dan with tokens.
  await ana.page.goto(`/#/dc/${dc}`);
  const send = ana.page.getByRole('form', { name: ana.say('send.form', { symbol: 'SEED' }) });
  await send.getByLabel(ana.say('send.to')).fill(dan.agent);
  await send.getByLabel(ana.say('send.amount', { symbol: 'SEED' })).fill('2.5');
  await send.getByRole('button', { name: ana.say('send.button') }).click();
  await expectDone(ana);
  // The answer names its block both in the form and in the notice bar.
  await send.locator('.form-status').getByRole('link', { name: ana.like('tx.inBlock') }).waitFor();
  await dan.page.goto(`/#/agent/${dan.agent}`);
  await dan.page.getByRole('row').filter({ hasText: dan.like('explain.tokensReceived', { tokens: exact(code, '2.5'), symbol: 'SEED' }) }).first().waitFor();

  // The dashboard's pictures and the explorer's integrity checks.
  await ana.page.goto(`/#/dc/${dc}`);
  await ana.page.getByRole('img', { name: ana.like('chart.lorenz') }).waitFor();
  await ana.page.getByRole('img', { name: ana.say('chart.history', { symbol: 'SEED' }) }).waitFor();
  // Two founders hold most of the reputation: the dashboard warns.
  await ana.page.locator('.warning').filter({ hasText: ana.say('concentration.few', { count: 2 }) }).waitFor();
  await shot(ana, shotName('07-dashboard'));
  await shot(ana, `dashboard-${code}`);
  await ana.page.goto('/#/blocks');
  await ana.page.getByText(ana.say('blocks.checksOut')).first().waitFor();
  if (await ana.page.getByText('✗').count()) fail('a block does not check out in the explorer');
  await shot(ana, shotName('08-explorer'));
  // The block holding Bo's evaluation, reached from the contribution's page.
  await ana.page.goto(`/#/dc/${dc}`);
  await ana.page.getByRole('link', { name: title }).click();
  // Follow the links by their addresses: live refreshes may redraw a link
  // between finding it and clicking it.
  const inBlock = new RegExp(`^${ana.like('tx.inBlock').source}$`);
  const txHref = await ana.page.locator('.timeline li').nth(1).getByRole('link', { name: inBlock }).getAttribute('href');
  await ana.page.goto(`/${txHref}`);
  await ana.page.getByRole('heading', { name: ana.say('tx.title') }).waitFor();
  const blockHref = await ana.page.locator('main').getByRole('link', { name: inBlock }).getAttribute('href');
  await ana.page.goto(`/${blockHref}`);
  await ana.page.getByText(ana.like('check.signatures')).waitFor();
  if (await ana.page.locator('.checks .error').count()) fail('a block check failed in the browser');
  await shot(ana, shotName('09-block-checked'));

  // Live: a new contribution appears on Ana's open dashboard without reloading.
  await ana.page.goto(`/#/dc/${dc}`);
  await ana.page.getByRole('link', { name: title }).waitFor();
  const contributeAgain = dan.page.getByRole('form', { name: dan.say('contribute.form') });
  await dan.page.goto(`/#/dc/${dc}`);
  await contributeAgain.getByLabel(dan.say('contribute.what')).fill(secondTitle);
  await contributeAgain.getByRole('button', { name: dan.say('contribute.button') }).click();
  await expectDone(dan);
  await ana.page.getByRole('link', { name: secondTitle }).waitFor();

  // Keyboard basics: on a fresh page the skip link is the first stop.
  await ana.page.reload();
  await ana.page.locator('main h1').waitFor();
  await ana.page.keyboard.press('Tab');
  const focused = await ana.page.evaluate(() => document.activeElement?.textContent);
  if (focused !== ana.say('nav.skip')) fail(`the first Tab stop is ${JSON.stringify(focused)}`);

  // Nothing wider than a phone's screen.
  await fitsAPhone(dan, ['/#/', `/#/dc/${dc}`, '/#/blocks', `/#/agent/${dan.agent}`, '/#/keys', '/#/new-dc']);

  return { dc, dan };
}

async function main() {
  const base = await startNode();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });

  // The whole flow in each language, each on a cooperative of its own.
  const flows = {};
  for (const code of ['ko', 'es', 'en']) flows[code] = await wholeFlow(base, code);

  // A reader switches language with the selector; the choice is
  // remembered after a reload.
  const { dc } = flows.ko;
  for (const [code, other] of [['es', 'en'], ['en', 'ko']]) {
    const reader = await person(`reader-${code}`, base, code);
    await reader.page.goto(`/#/dc/${dc}`);
    await reader.page.getByRole('heading', { name: reader.say('dc.members'), exact: true }).waitFor();
    if ((await reader.page.title()) !== reader.say('page.title', { page: STORY.ko.dcName })) fail(`the page title is ${await reader.page.title()}`);
    await reader.page.getByRole('combobox', { name: reader.say('nav.language') }).selectOption(other);
    await reader.page.getByRole('heading', { name: say(other, 'dc.members'), exact: true }).waitFor();
    await reader.page.reload();
    await reader.page.getByRole('heading', { name: say(other, 'dc.members'), exact: true }).waitFor();
    const lang = await reader.page.evaluate(() => document.documentElement.lang);
    if (lang !== other) fail(`<html lang> is ${lang} after choosing ${other}`);
  }
}

try {
  await main();
  if (problems.length) fail(`problems in the browser:\n${problems.join('\n')}`);
  console.log(`browser flow: ok (screenshots in ${shots})`);
} catch (error) {
  console.error(`browser flow: FAILED: ${error.message}`);
  for (const who of people) {
    await who.page.screenshot({ path: join(shots, `failed-${who.name}.png`), fullPage: true }).catch(() => {});
    console.error(`${who.name} was at ${who.page.url()}`);
  }
  if (problems.length) console.error(problems.join('\n'));
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  if (node) node.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
}
