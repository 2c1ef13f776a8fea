// The main flows of the web UI in headless Chromium, against a real node:
// three people, each in their own browser, make keys; one founds a
// cooperative with another; a newcomer joins with a new key and records a
// contribution; the founders evaluate it until enough reputation has spoken;
// the newcomer sees the reward and why. Every page is also checked at phone
// width, pages are screenshotted, and any console error fails the run.
//
// Usage: node flow.mjs STIGMER_BINARY SCREENSHOT_DIR

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const [binary = '../../target/debug/stigmer', shots = '../../target/screenshots'] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 30_000;

mkdirSync(shots, { recursive: true });
const scratch = mkdtempSync(join(tmpdir(), 'stigmer-browser-'));
const problems = [];
const people = [];
let node;
let browser;

function fail(message) {
  throw new Error(message);
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

/** A person with their own browser storage. */
async function person(name, base, viewport = { width: 1200, height: 900 }) {
  const context = await browser.newContext({ viewport, baseURL: base });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${name}: console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`${name}: page error: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 500) problems.push(`${name}: ${response.status()} from ${response.url()}`);
  });
  const who = { name, context, page };
  people.push(who);
  return who;
}

async function shot(who, label) {
  await who.page.screenshot({ path: join(shots, `${label}.png`), fullPage: true });
}

async function makeKey(who) {
  await who.page.goto('/#/keys');
  await who.page.getByLabel('Name (for you only)').fill(who.name);
  await who.page.getByRole('button', { name: 'Make a new key' }).click();
  const status = who.page.getByRole('status').filter({ hasText: `Made ${who.name}` });
  await status.waitFor();
  const text = await status.textContent();
  const agent = text.match(/[0-9a-f]{64}/)?.[0] || fail(`no agent id in ${text}`);
  who.agent = agent;
  return agent;
}

/** Waits for the answer to `who`'s last transaction; fails on anything but success. */
async function expectDone(who) {
  const notice = who.page.locator('#notice');
  await notice.filter({ hasNotText: /Signing in your browser/ }).filter({ hasText: /./ }).waitFor();
  const text = await notice.textContent();
  if (!/Done/.test(text)) fail(`${who.name}'s transaction was not applied: ${text}`);
}

async function main() {
  const base = await startNode();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });

  const ana = await person('ana', base);
  const bo = await person('bo', base);
  const dan = await person('dan', base, { width: 390, height: 844 }); // a phone

  await makeKey(ana);
  await makeKey(bo);
  await makeKey(dan);
  await shot(ana, '01-keys');

  // Ana founds a cooperative with Bo.
  await ana.page.goto('/#/new-dc');
  await ana.page.getByLabel('Short id').fill('garden');
  await ana.page.getByLabel('Name', { exact: true }).fill('Community garden');
  await ana.page.getByLabel('Token symbol').fill('SEED');
  await ana.page.getByLabel('Scale evaluators choose from').selectOption('0-5');
  await ana.page.getByLabel('Founders besides you').fill(bo.agent);
  await shot(ana, '02-found-form');
  await ana.page.getByRole('button', { name: 'Found it' }).click();
  await ana.page.waitForURL(/#\/tx\//);
  await ana.page.getByText('applied').first().waitFor();
  await shot(ana, '03-founded');

  // Dan, on a phone, joins with his new key, using the keyboard only.
  await dan.page.goto('/#/dc/garden');
  const join = dan.page.getByRole('form', { name: 'Join this cooperative' });
  await join.getByLabel('Referred by').focus();
  await dan.page.keyboard.type(ana.agent);
  await dan.page.keyboard.press('Tab');
  await dan.page.keyboard.press('Enter');
  await expectDone(dan);

  // Dan records a contribution.
  const contribute = dan.page.getByRole('form', { name: 'Record a contribution' });
  await contribute.waitFor();
  await contribute.getByLabel('What did you do?').fill('Built the compost bins');
  await contribute.getByLabel('Kind').selectOption('work');
  await contribute.getByRole('button', { name: 'Record it' }).click();
  await expectDone(dan);
  await shot(dan, '04-phone-dc-after-contributing');

  // Ana and Bo evaluate it: together they hold most of the reputation.
  for (const [who, value] of [[ana, '4'], [bo, '5']]) {
    await who.page.goto('/#/dc/garden');
    await who.page.getByRole('link', { name: 'Built the compost bins' }).click();
    const evaluate = who.page.getByRole('form', { name: 'Evaluate' });
    await evaluate.getByText(value, { exact: true }).click();
    await evaluate.getByRole('button', { name: 'Evaluate' }).click();
    await expectDone(who);
  }
  await ana.page.reload();
  await ana.page.getByText(/The score rose/).first().waitFor();
  await shot(ana, '05-contribution-rewarded');

  // Dan sees his reward and why.
  await dan.page.goto(`/#/agent/${dan.agent}`);
  const reward = dan.page.getByRole('row').filter({ hasText: /received .* reputation for "Built the compost bins"/ }).first();
  await reward.waitFor();
  const rewardText = await reward.textContent();
  if (!/median of its evaluations rose from 0 to 4/.test(rewardText)) fail(`the reward is not explained: ${rewardText}`);
  await shot(dan, '06-phone-reward-explained');

  // Ana thanks Dan with tokens.
  await ana.page.goto('/#/dc/garden');
  const send = ana.page.getByRole('form', { name: 'Send SEED' });
  await send.getByLabel('To (agent id)').fill(dan.agent);
  await send.getByLabel('Amount of SEED').fill('2.5');
  await send.getByRole('button', { name: 'Send' }).click();
  await expectDone(ana);
  await dan.page.goto(`/#/agent/${dan.agent}`);
  await dan.page.getByRole('row').filter({ hasText: /received 2\.5 SEED from/ }).first().waitFor();

  // The dashboard's pictures and the explorer's integrity checks.
  await ana.page.goto('/#/dc/garden');
  await ana.page.getByRole('img', { name: /Lorenz curve of reputation: Gini coefficient/ }).waitFor();
  await ana.page.getByRole('img', { name: /SEED over time/ }).waitFor();
  // Two founders hold most of the reputation: the dashboard warns.
  await ana.page.locator('.warning').filter({ hasText: /members? holds? more than half of the reputation: they can decide alone/ }).waitFor();
  await shot(ana, '07-dashboard');
  await ana.page.goto('/#/blocks');
  await ana.page.getByText('✓ hash and link check out').first().waitFor();
  if (await ana.page.getByText('✗').count()) fail('a block does not check out in the explorer');
  await shot(ana, '08-explorer');
  // The block holding Bo's evaluation, reached from the contribution's page.
  await ana.page.goto('/#/dc/garden');
  await ana.page.getByRole('link', { name: 'Built the compost bins' }).click();
  // Follow the links by their addresses: live refreshes may redraw a link
  // between finding it and clicking it.
  const txHref = await ana.page.locator('.timeline li').nth(1).getByRole('link', { name: /^block / }).getAttribute('href');
  await ana.page.goto(`/${txHref}`);
  await ana.page.getByRole('heading', { name: 'Transaction' }).waitFor();
  const blockHref = await ana.page.locator('main').getByRole('link', { name: /^block \d+$/ }).getAttribute('href');
  await ana.page.goto(`/${blockHref}`);
  await ana.page.getByText(/all 1 signatures verified by this browser|all \d+ signatures verified by this browser/).waitFor();
  if (await ana.page.locator('.checks .error').count()) fail('a block check failed in the browser');
  await shot(ana, '09-block-checked');

  // Live: a new contribution appears on Ana's open dashboard without reloading.
  await ana.page.goto('/#/dc/garden');
  await ana.page.getByRole('link', { name: 'Built the compost bins' }).waitFor();
  const contributeAgain = dan.page.getByRole('form', { name: 'Record a contribution' });
  await dan.page.goto('/#/dc/garden');
  await contributeAgain.getByLabel('What did you do?').fill('Watered the seedlings');
  await contributeAgain.getByRole('button', { name: 'Record it' }).click();
  await expectDone(dan);
  await ana.page.getByRole('link', { name: 'Watered the seedlings' }).waitFor();

  // Keyboard basics: on a fresh page the skip link is the first stop.
  await ana.page.reload();
  await ana.page.locator('main h1').waitFor();
  await ana.page.keyboard.press('Tab');
  const focused = await ana.page.evaluate(() => document.activeElement?.textContent);
  if (focused !== 'Skip to content') fail(`the first Tab stop is ${JSON.stringify(focused)}`);

  // Nothing wider than a phone's screen.
  for (const path of ['/#/', '/#/dc/garden', '/#/blocks', `/#/agent/${dan.agent}`]) {
    await dan.page.goto(path);
    await dan.page.locator('main h1').waitFor();
    await dan.page.waitForTimeout(300);
    const overflow = await dan.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 1) fail(`${path} is ${overflow}px wider than a phone`);
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
