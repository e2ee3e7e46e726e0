// End-to-end browser test of doisoat's web pages, driven by tests/it/web_e2e.rs (`cargo test`, a slow test).
//
// Env: BASE_URL, ACCOUNTANT_TOKEN, APPROVER_TOKEN, AUDITOR_TOKEN, FIXTURES (the fixtures/ folder), OUT_DIR;
// SCREENSHOT_DIR (optional: PNGs of the main pages go there). Chromium: /usr/bin/chromium,
// or CHROMIUM.
//
// Writes OUT_DIR/result.json with what it read off the pages (the Rust side compares it with
// the API) and OUT_DIR/report.xlsx (the run's workbook, downloaded through the page). Contract
// checks that fail are collected in `failures` and the scenario goes on where it can, so one
// run lists every mismatch; a step that cannot go on at all ends that role's scenario and is
// recorded in `fatal`. Exit status 0 only when nothing failed.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const env = (name, required = true) => {
  const v = process.env[name];
  if (required && (v === undefined || v === '')) {
    console.error(`web.mjs: environment variable ${name} is required`);
    process.exit(2);
  }
  return v;
};

const BASE_URL = env('BASE_URL').replace(/\/+$/, '');
const ACCOUNTANT_TOKEN = env('ACCOUNTANT_TOKEN');
const AUDITOR_TOKEN = env('AUDITOR_TOKEN');
const APPROVER_TOKEN = env('APPROVER_TOKEN');
const FIXTURES = env('FIXTURES');
const OUT_DIR = env('OUT_DIR');
const SCREENSHOT_DIR = env('SCREENSHOT_DIR', false) || '';
const CHROMIUM = env('CHROMIUM', false) || '/usr/bin/chromium';

// Debug builds on a shared 2-core machine: uploads and runs can take a few seconds.
const NAV_TIMEOUT = 60_000;
const SELECTOR_TIMEOUT = 15_000;

const FIGURES = [
  'account_coverage_pct',
  'cashless_rate_pct',
  'amount_paid',
  'beneficiaries',
  'amount_due',
  'amount_due_cashless',
  'amount_due_cash',
];
const LIST_FILE = 'danh_sach_xa_tan_lap.xlsx';
const PAYOUT_FILES = ['ket_qua_agribank.xlsx', 'ket_qua_ngan_hang.csv'];
// Period codes are validated (src/domain/period.rs: 2024-09, 2024-Q3, 09/2024…): a suffixed
// code such as '2024-09-e2e' is refused, so the sample's month it is (each run has a fresh db).
const PERIOD = {
  code: '2024-09',
  programme: 'TCXH',
  locality: 'Xã Tân Lập',
  target_pct: '80',
};

/** Searched for in the exceptions: the sample's unpaid "Lý Thị Nga". */
const SEARCH = 'nga';
/** A second period, to see a Vietnamese decimal comma accepted in the target. */
const SECOND_PERIOD = { code: '2024-Q3', target_pct: '80,5' };

const result = {
  ok: false,
  fatal: [],
  failures: [],
  notes: [],
  steps: [],
  period_id: null,
  run_id: null,
  uploads: [],
  live: {},
  run: {},
  chart_rects: null,
  runs_table: [],
  exceptions_total: null,
  exceptions_rows: null,
  filter: null,
  filtered_total: null,
  filtered_rows: null,
  search: null,
  second_period_id: null,
  accountant_ids: [],
  xlsx: null,
  screenshots: [],
  http_errors: [],
  page_errors: [],
  auditor: {},
  approval: {},
};

let currentStep = 'start';

/** A contract check that does not stop the scenario. */
function check(cond, message) {
  if (!cond) {
    const m = `[${currentStep}] ${message}`;
    result.failures.push(m);
    console.error(`FAIL ${m}`);
  }
  return !!cond;
}

function note(message) {
  result.notes.push(`[${currentStep}] ${message}`);
}

async function step(name, fn) {
  currentStep = name;
  console.error(`-- ${name}`);
  try {
    const v = await fn();
    result.steps.push(name);
    return v;
  } catch (e) {
    const msg = String(e && e.message ? e.message : e).split('\n')[0];
    throw new Error(`step "${name}": ${msg}`);
  }
}

function pathOf(page) {
  try {
    return new URL(page.url()).pathname;
  } catch {
    return page.url();
  }
}

/** Where the page is, with the HTTP status and the start of its text: for failure messages. */
async function describe(page, resp) {
  const status = resp ? ` (HTTP ${resp.status()})` : '';
  const body = await page
    .evaluate(() => (document.body ? document.body.innerText : ''))
    .catch(() => '');
  const snippet = body.replace(/\s+/g, ' ').trim().slice(0, 200);
  return `${pathOf(page)}${status}${snippet ? `, page text: "${snippet}"` : ''}`;
}

/** The element or a clear error naming the selector and the page. */
async function need(page, selector, what = '') {
  const loc = page.locator(selector).first();
  try {
    await loc.waitFor({ state: 'attached', timeout: SELECTOR_TIMEOUT });
  } catch {
    throw new Error(`selector ${selector}${what ? ` (${what})` : ''} not found on ${await describe(page, null)}`);
  }
  return loc;
}

async function count(page, selector) {
  return page.locator(selector).count();
}

async function text(loc) {
  return ((await loc.textContent()) || '').trim();
}

async function goto(page, urlPath) {
  const resp = await page.goto(BASE_URL + urlPath, { waitUntil: 'load', timeout: NAV_TIMEOUT });
  return resp;
}

/** Click the form's submit button and wait for the page it leads to (after redirects). */
async function submit(page, formSelector) {
  const form = await need(page, formSelector);
  const button = form.locator('button[type=submit], input[type=submit]').first();
  if ((await button.count()) === 0) {
    throw new Error(`no submit button in ${formSelector} on ${pathOf(page)}`);
  }
  const [resp] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: NAV_TIMEOUT }),
    button.click(),
  ]);
  return resp;
}

/** Click a link and wait for the page it leads to. */
async function follow(page, selector) {
  const link = await need(page, selector);
  const [resp] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: NAV_TIMEOUT }),
    link.click(),
  ]);
  return resp;
}

async function screenshot(page, name, opts = {}) {
  if (!SCREENSHOT_DIR) return;
  const file = path.join(SCREENSHOT_DIR, name);
  try {
    await page.screenshot({ path: file, animations: 'disabled', caret: 'hide', ...opts });
    result.screenshots.push(file);
  } catch (e) {
    check(false, `screenshot ${name}: ${e.message}`);
  }
}

async function htmlLang(page) {
  return page.evaluate(() => document.documentElement.getAttribute('lang'));
}

/** Every POST form on the page carries a non-empty hidden csrf input. */
async function checkCsrfOnForms(page) {
  const missing = await page.evaluate(() =>
    [...document.forms]
      .filter((f) => (f.getAttribute('method') || 'get').toLowerCase() === 'post')
      .filter((f) => {
        const i = f.querySelector('input[name=csrf]');
        return !i || i.type !== 'hidden' || !i.value;
      })
      .map((f) => f.id || f.getAttribute('action') || '(form)'),
  );
  check(missing.length === 0, `POST forms without a hidden, non-empty input[name=csrf] on ${pathOf(page)}: ${missing.join(', ')}`);
}

/** Header of every signed-in page. */
async function checkHeader(page, role) {
  const where = pathOf(page);
  check((await count(page, 'form#logout')) === 1, `form#logout missing on ${where}`);
  check(
    (await count(page, 'form#logout button[type=submit], form#logout input[type=submit]')) >= 1,
    `form#logout has no submit button on ${where}`,
  );
  check((await count(page, 'a#nav-periods')) === 1, `a#nav-periods missing on ${where}`);
  const audit = await count(page, 'a#nav-audit');
  if (role === 'auditor') check(audit === 1, `a#nav-audit missing for the auditor on ${where}`);
  else check(audit === 0, `a#nav-audit shown to the accountant on ${where} (only auditor/admin)`);
  await checkCsrfOnForms(page);
}

async function readFigures(page) {
  const out = {};
  for (const f of FIGURES) {
    const sel = `[data-figure=${f}]`;
    const n = await count(page, sel);
    if (check(n >= 1, `${sel} missing on ${pathOf(page)}`)) {
      out[f] = await text(page.locator(sel).first());
    } else {
      out[f] = null;
    }
  }
  return out;
}

/** A POST from the page's own session with fetch; returns the status (0 for an opaque redirect). */
async function postFromPage(page, url, fields, withFile) {
  return page.evaluate(
    async ({ url, fields, withFile }) => {
      const csrfInput = document.querySelector('form#logout input[name=csrf]');
      let body;
      if (withFile) {
        body = new FormData();
        for (const [k, v] of Object.entries(fields)) {
          body.append(k, v === '$CSRF' ? (csrfInput ? csrfInput.value : '') : v);
        }
        body.append('files', new Blob(['STT,Ho ten\n1,Nguyen Van A\n'], { type: 'text/csv' }), 'forbidden.csv');
      } else {
        body = new URLSearchParams();
        for (const [k, v] of Object.entries(fields)) {
          body.append(k, v === '$CSRF' ? (csrfInput ? csrfInput.value : '') : v);
        }
      }
      const r = await fetch(url, { method: 'POST', body, redirect: 'manual', credentials: 'same-origin' });
      return { status: r.status, type: r.type, csrf_found: !!(csrfInput && csrfInput.value) };
    },
    { url, fields, withFile },
  );
}

async function signIn(page, token, role) {
  await step(`${role}: sign in`, async () => {
    const login = await goto(page, '/login');
    check(login && login.status() === 200, `GET /login answered ${login && login.status()}`);
    await need(page, 'form#login');
    await need(page, 'form#login input#token[name=token]');
    await need(page, 'form#login button[type=submit]');
    await page.fill('form#login input#token', token);
    const resp = await submit(page, 'form#login');
    if (pathOf(page) !== '/periods') {
      throw new Error(`after signing in the page is ${await describe(page, resp)}, want /periods`);
    }
  });
}

/** Digits runs of 12 (full personal IDs) in a text. */
function fullIds(s) {
  return [...new Set((s.match(/(?<!\d)\d{12}(?!\d)/g) || []))];
}

async function accountant(browser) {
  const context = await browser.newContext({
    viewport: { width: 1366, height: 768 },
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
    acceptDownloads: true,
  });
  const page = await context.newPage();
  watch(page, 'accountant');
  try {
    await step('accountant: login page', async () => {
      const resp = await goto(page, '/login').catch((e) => {
        throw new Error(`GET /login failed (${e.message.split('\n')[0]}): the server must answer 200 with the sign-in page`);
      });
      if (!resp || resp.status() !== 200) {
        throw new Error(`GET /login answered ${resp ? resp.status() : 'nothing'}, want 200`);
      }
      check((await htmlLang(page)) === 'vi', `<html lang> is ${await htmlLang(page)}, want "vi" by default`);
      await need(page, 'form#login');
      await need(page, 'form#login input#token[name=token]');
      await need(page, 'form#login button[type=submit]');
      await checkCsrfOnForms(page);
      await screenshot(page, '01-login.png');
    });

    await step('accountant: wrong token', async () => {
      await page.fill('form#login input#token', 'khong-phai-token-that');
      await submit(page, 'form#login');
      check(pathOf(page) === '/login', `a wrong token leads to ${pathOf(page)}, want to stay on /login`);
      const err = page.locator('.error').first();
      if (check((await err.count()) === 1, `.error missing after a wrong token on ${pathOf(page)}`)) {
        check((await err.getAttribute('role')) === 'alert', '.error has no role=alert');
        check((await text(err)).length > 0, '.error is empty');
      }
      const cookies = await context.cookies();
      check(!cookies.some((c) => c.name === 'doisoat_session' && c.value), 'a session cookie was set for a wrong token');
    });

    await signIn(page, ACCOUNTANT_TOKEN, 'accountant');

    await step('accountant: session cookie', async () => {
      const c = (await context.cookies()).find((c) => c.name === 'doisoat_session');
      if (check(c, 'no doisoat_session cookie after signing in')) {
        check(c.httpOnly, 'doisoat_session is not HttpOnly');
        check(c.sameSite === 'Strict', `doisoat_session SameSite is ${c.sameSite}, want Strict`);
      }
      await checkHeader(page, 'accountant');
    });

    await step('accountant: create period', async () => {
      // With no period yet the page may show an empty-state text instead of the table;
      // the table and its row are checked once the period exists.
      if ((await count(page, 'table#periods')) === 0) note('no table#periods while there is no period (empty state)');
      await need(page, 'form#create-period');
      for (const [name, value] of Object.entries(PERIOD)) {
        const sel = `form#create-period [name=${name}]`;
        await need(page, sel);
        // The programme is chosen from the programmes the system knows.
        if (name === 'programme') await page.selectOption(sel, value);
        else await page.fill(sel, value);
      }
      const resp = await submit(page, 'form#create-period');
      const m = pathOf(page).match(/^\/periods\/(\d+)$/);
      if (!m) throw new Error(`creating a period leads to ${await describe(page, resp)}, want /periods/{id}`);
      result.period_id = Number(m[1]);
      await checkHeader(page, 'accountant');
    });
    const pid = result.period_id;

    await step('accountant: periods list', async () => {
      await goto(page, '/periods');
      const row = page.locator(`table#periods tr[data-period-id="${pid}"]`);
      if (check((await row.count()) === 1, `table#periods has no tr[data-period-id="${pid}"]`)) {
        check(
          (await row.locator(`a[href$="/periods/${pid}"]`).count()) >= 1,
          `period row ${pid} has no link to /periods/${pid}`,
        );
        if (!(await text(row)).includes(PERIOD.code)) note(`period row ${pid} does not show the code ${PERIOD.code}`);
      }
      await screenshot(page, '02-periods.png');
      await follow(page, `table#periods tr[data-period-id="${pid}"] a[href$="/periods/${pid}"]`);
      check(pathOf(page) === `/periods/${pid}`, `the period link leads to ${pathOf(page)}`);
    });

    await step('accountant: upload the beneficiary list', async () => {
      const form = await need(page, 'form#upload-list');
      check(
        ((await form.getAttribute('enctype')) || '').toLowerCase() === 'multipart/form-data',
        'form#upload-list is not enctype=multipart/form-data',
      );
      const input = await need(page, 'form#upload-list input[type=file][name=files]');
      // One list per submit: each list replaces the current one (issue 9).
      check((await input.getAttribute('multiple')) === null, 'form#upload-list file input takes several files');
      await input.setInputFiles(path.join(FIXTURES, LIST_FILE));
      const resp = await submit(page, 'form#upload-list');
      if (pathOf(page) !== `/periods/${pid}`) {
        check(false, `uploading the list leads to ${await describe(page, resp)}, want /periods/${pid}`);
        await goto(page, `/periods/${pid}`);
      } else {
        // The confirmation: what was stored, rows accepted and rejected.
        const ok = page.locator('#messages p.ok');
        const said = (await ok.count()) ? await text(ok.first()) : '';
        result.list_confirmation = said;
        check(/^Đã tải lên danh sách: .+ — [\d.]+ dòng hợp lệ, [\d.]+ dòng lỗi$/.test(said), `no upload confirmation on the period page (got ${JSON.stringify(said)})`);
      }
    });

    await step('accountant: upload bank result files', async () => {
      const form = await need(page, 'form#upload-payouts');
      check(
        ((await form.getAttribute('enctype')) || '').toLowerCase() === 'multipart/form-data',
        'form#upload-payouts is not enctype=multipart/form-data',
      );
      const input = await need(page, 'form#upload-payouts input[type=file][name=files]');
      check((await input.getAttribute('multiple')) !== null, 'form#upload-payouts file input is not multiple');
      await input.setInputFiles(PAYOUT_FILES.map((f) => path.join(FIXTURES, f)));
      await need(page, 'form#upload-payouts input[name=bank]');
      await page.fill('form#upload-payouts input[name=bank]', 'Agribank');
      const resp = await submit(page, 'form#upload-payouts');
      if (pathOf(page) !== `/periods/${pid}`) {
        check(false, `uploading payouts leads to ${await describe(page, resp)}, want /periods/${pid}`);
        await goto(page, `/periods/${pid}`);
      }
      await checkHeader(page, 'accountant');
    });

    await step('accountant: uploads table', async () => {
      await need(page, 'table#uploads');
      const rows = page.locator('table#uploads tr[data-upload-id]');
      const n = await rows.count();
      for (let i = 0; i < n; i++) {
        const row = rows.nth(i);
        const id = Number(await row.getAttribute('data-upload-id'));
        const rowText = await text(row);
        const acc = row.locator('td.accepted');
        const rej = row.locator('td.rejected');
        const accText = (await acc.count()) ? await text(acc.first()) : null;
        const rejText = (await rej.count()) ? await text(rej.first()) : null;
        const num = (s) => (s !== null && /^\d[\d.]*$/.test(s) ? Number(s.replace(/\./g, '')) : null);
        // Row errors: the details.row-errors that follows this row (in the next row or later,
        // before the next upload row).
        const errors = await row.evaluate((tr) => {
          const found = [];
          let el = tr.nextElementSibling;
          for (; el && !el.hasAttribute('data-upload-id'); el = el.nextElementSibling) {
            for (const d of el.querySelectorAll('details.row-errors')) found.push(d);
          }
          if (!found.length) {
            const inRow = tr.querySelector('details.row-errors');
            if (inRow) found.push(inRow);
          }
          return found.flatMap((d) => [...d.querySelectorAll('li')].map((li) => li.textContent.trim()));
        });
        result.uploads.push({
          id,
          text: rowText,
          accepted_text: accText,
          rejected_text: rejText,
          accepted: num(accText),
          rejected: num(rejText),
          errors,
        });
        check(accText !== null, `upload row ${id} has no td.accepted`);
        check(rejText !== null, `upload row ${id} has no td.rejected`);
        check(num(accText) !== null, `upload row ${id}: td.accepted is not a number: ${JSON.stringify(accText)}`);
        check(num(rejText) !== null, `upload row ${id}: td.rejected is not a number: ${JSON.stringify(rejText)}`);
      }
      for (const f of [LIST_FILE, ...PAYOUT_FILES]) {
        check(result.uploads.some((u) => u.text.includes(f)), `no tr[data-upload-id] in table#uploads names ${f}`);
      }
      const allErrors = result.uploads.flatMap((u) => u.errors);
      check(allErrors.length > 0, 'no row error li under any details.row-errors (the sample list has two)');
      check(allErrors.every((e) => /dòng \d+/.test(e)), `row errors without "dòng N": ${JSON.stringify(allErrors.filter((e) => !/dòng \d+/.test(e)))}`);
      // Show the errors for the screenshot.
      await page.evaluate(() => document.querySelectorAll('details.row-errors').forEach((d) => (d.open = true)));
      const errs = page.locator('details.row-errors').first();
      if (await errs.count()) await errs.scrollIntoViewIfNeeded();
      else await page.locator('table#uploads').scrollIntoViewIfNeeded();
      await screenshot(page, '03-period-uploads.png');
    });

    await step('accountant: live figures', async () => {
      result.live = await readFigures(page);
      const rects = await count(page, 'svg#commune-chart rect');
      result.chart_rects = rects;
      check((await count(page, 'svg#commune-chart')) === 1, 'svg#commune-chart missing on the period page');
      check(rects >= 1, 'svg#commune-chart has no rect');
    });

    await step('accountant: run the reconciliation', async () => {
      await need(page, 'form#run');
      const resp = await submit(page, 'form#run');
      const m = pathOf(page).match(/^\/runs\/(\d+)$/);
      if (!m) throw new Error(`form#run leads to ${await describe(page, resp)}, want /runs/{id}`);
      result.run_id = Number(m[1]);
      const ok = page.locator('#messages p.ok');
      check((await ok.count()) === 1, 'no confirmation on the new run page');
      await checkHeader(page, 'accountant');
    });
    const rid = result.run_id;

    await step('accountant: run page', async () => {
      result.run = await readFigures(page);
      const links = {
        'a#download-xlsx': `/runs/${rid}/report.xlsx`,
        'a#download-csv': null,
        'a#download-followup': null,
      };
      for (const [sel, want] of Object.entries(links)) {
        const a = page.locator(sel);
        if (!check((await a.count()) === 1, `${sel} missing on /runs/${rid}`)) continue;
        const href = (await a.getAttribute('href')) || '';
        if (want) check(new URL(href, BASE_URL).pathname === want, `${sel} href is ${href}, want ${want}`);
        const r = await context.request.get(new URL(href, page.url()).toString(), { timeout: NAV_TIMEOUT });
        check(r.status() === 200, `GET ${href} (${sel}) answered ${r.status()}`);
        const len = (await r.body()).length;
        check(len > 0, `GET ${href} (${sel}) is empty`);
      }
      // The cashless rate shows its base: paid / account holders, and the share of everyone.
      const base = await text(page.locator('[data-figure=paid_cashless]').first().locator('xpath=..'));
      check(/^[\d.]+ \/ [\d.]+ người có tài khoản$/.test(base), `the cashless base reads ${JSON.stringify(base)}`);
      check((await count(page, '[data-figure=cashless_share]')) === 1, 'no share of all beneficiaries');
      // Printed, the page keeps the figures and drops the navigation, forms and buttons.
      await page.emulateMedia({ media: 'print' });
      check(!(await page.locator('header.top').isVisible()), 'the navigation prints');
      check(!(await page.locator('form#exception-filters').isVisible()), 'the filter form prints');
      check(await page.locator('[data-figure=account_coverage_pct]').first().isVisible(), 'the big figures do not print');
      await page.emulateMedia({ media: 'screen' });
    });

    await step('accountant: download the xlsx', async () => {
      const link = await need(page, 'a#download-xlsx');
      const out = path.join(OUT_DIR, 'report.xlsx');
      let dl = null;
      try {
        [dl] = await Promise.all([page.waitForEvent('download', { timeout: NAV_TIMEOUT }), link.click()]);
      } catch (e) {
        check(false, `clicking a#download-xlsx started no download: ${e.message.split('\n')[0]}`);
      }
      if (dl) {
        await dl.saveAs(out);
        result.xlsx = out;
        result.xlsx_suggested_name = dl.suggestedFilename();
        check(/\.xlsx$/i.test(dl.suggestedFilename()), `the download is named ${dl.suggestedFilename()}, want *.xlsx`);
      } else {
        // Keep the Rust side's workbook checks going: fetch it with the session instead.
        const href = await link.getAttribute('href');
        const r = await context.request.get(new URL(href, page.url()).toString(), { timeout: NAV_TIMEOUT });
        fs.writeFileSync(out, await r.body());
        result.xlsx = out;
        note('the workbook was fetched directly, not downloaded through a click');
        await goto(page, `/runs/${rid}`);
      }
    });

    await step('accountant: run history on the period page', async () => {
      await goto(page, `/periods/${pid}`);
      await need(page, 'table#runs');
      const rows = page.locator('table#runs tr[data-run-id]');
      const n = await rows.count();
      for (let i = 0; i < n; i++) {
        const row = rows.nth(i);
        const id = Number(await row.getAttribute('data-run-id'));
        const code = row.locator('code');
        const link = row.locator(`a[href$="/runs/${id}"]`);
        result.runs_table.push({
          id,
          digest: (await code.count()) ? await text(code.first()) : null,
          has_link: (await link.count()) > 0,
        });
      }
      const mine = result.runs_table.find((r) => r.id === rid);
      if (check(mine, `table#runs has no tr[data-run-id="${rid}"]`)) {
        check(mine.has_link, `run row ${rid} has no link to /runs/${rid}`);
        check(mine.digest && /^[0-9a-f]{64}$/.test(mine.digest), `run row ${rid}: the code element is not a SHA-256 digest: ${JSON.stringify(mine.digest)}`);
      }
      await checkHeader(page, 'accountant');
      await screenshot(page, '04-dashboard.png', { fullPage: true });
    });

    await step('accountant: exceptions', async () => {
      const table = await need(page, 'table#exceptions');
      const total = await table.getAttribute('data-total');
      check(total !== null && /^\d+$/.test(total), `table#exceptions data-total is ${JSON.stringify(total)}, want a number`);
      result.exceptions_total = total !== null && /^\d+$/.test(total) ? Number(total) : null;
      result.exceptions_rows = await count(page, 'table#exceptions tbody tr');
      const body = await text(page.locator('table#exceptions tbody'));
      result.accountant_ids = fullIds(body);
      check(result.accountant_ids.length > 0, 'the accountant sees no full 12-digit personal ID in table#exceptions');
      if (result.exceptions_total !== null && result.exceptions_total > result.exceptions_rows) {
        check((await count(page, 'a[rel=next]')) >= 1, `${result.exceptions_total} exceptions, ${result.exceptions_rows} shown, no a[rel=next]`);
      }
      check((await count(page, 'a[rel=prev]')) === 0, 'a[rel=prev] on the first page of exceptions');
      for (const sel of ['input[name=outcome]', 'input[name=flag]', 'input[name=bank]', 'input[name=q]', 'input[name=exclude]', 'select[name=per_page]']) {
        check((await count(page, `form#exception-filters ${sel}`)) >= 1, `form#exception-filters ${sel} missing`);
      }
      const method = ((await (await need(page, 'form#exception-filters')).getAttribute('method')) || 'get').toLowerCase();
      check(method === 'get', `form#exception-filters method is ${method}, want get`);
    });

    await step('accountant: filter exceptions by outcome', async () => {
      // The outcomes are ticked in a drop-down (details); pick the first shown in the table.
      const first = await page.locator('table#exceptions tbody tr').first().getAttribute('data-outcome');
      const options = await page.locator('form#exception-filters input[name=outcome]').evaluateAll((xs) =>
        xs.map((x) => ({ value: x.value, label: x.closest('label').textContent.trim() })),
      );
      const pick = options.find((o) => o.value === first) || options[0];
      if (!pick) throw new Error('input[name=outcome] has no choice');
      result.filter = pick;
      await page.locator('form#exception-filters details.choices').first().locator('summary').click();
      await page.locator(`form#exception-filters input[name=outcome][value=${pick.value}]`).check();
      await submit(page, 'form#exception-filters');
      const url = new URL(page.url());
      check(url.searchParams.get('outcome') === pick.value, `after filtering, the URL is ${url.pathname}${url.search}, want outcome=${pick.value}`);
      const table = await need(page, 'table#exceptions');
      const total = await table.getAttribute('data-total');
      result.filtered_total = total !== null && /^\d+$/.test(total) ? Number(total) : null;
      const rowTexts = await page.locator('table#exceptions tbody tr').allTextContents();
      result.filtered_rows = rowTexts.length;
      const label = pick.label.replace(/\s*\(\d[\d.]*\)\s*$/, '');
      const allHave = rowTexts.length > 0 && rowTexts.every((t) => t.includes(label));
      check(
        allHave || result.filtered_total !== result.exceptions_total,
        `filtering by outcome "${pick.value}" (${label}): the rows do not all show "${label}" and the total stayed ${result.filtered_total}`,
      );
      check(
        await page.locator(`form#exception-filters input[name=outcome][value=${pick.value}]`).isChecked(),
        'the outcome filter does not stay ticked after filtering',
      );
      await page.evaluate(() => {
        document.querySelector('form#exception-filters').scrollIntoView({ block: 'start' });
        window.scrollBy(0, -60);
      });
      await screenshot(page, '05-exceptions-filtered.png');
      // A run's filtered view downloads as its own file, with just those rows.
      await goto(page, `/runs/${result.run_id}?outcome=${pick.value}`);
      const runTotal = Number((await page.locator('table#exceptions').getAttribute('data-total')) || 'NaN');
      const href = await page.locator('a#download-view-csv').getAttribute('href').catch(() => null);
      if (check(href && href.includes(`outcome=${pick.value}`), `a#download-view-csv is ${href}, want the filter in it`)) {
        const csv = await page.evaluate(async (u) => (await fetch(u)).text(), href);
        result.filtered_csv_rows = csv.trim().split('\n').length - 1;
        check(
          result.filtered_csv_rows === runTotal,
          `the filtered CSV has ${result.filtered_csv_rows} rows, the run page says ${runTotal}`,
        );
      }
    });

    await step('accountant: search exceptions by name', async () => {
      await page.locator('form#exception-filters details.choices').first().locator('summary').click();
      for (const box of await page.locator('form#exception-filters input[name=outcome]:checked').all()) await box.uncheck();
      await page.fill('form#exception-filters input[name=q]', SEARCH);
      await submit(page, 'form#exception-filters');
      const url = new URL(page.url());
      check(url.searchParams.get('q') === SEARCH, `after searching, the URL is ${url.pathname}${url.search}, want q=${SEARCH}`);
      const table = await need(page, 'table#exceptions');
      const total = await table.getAttribute('data-total');
      result.search = { q: SEARCH, total: total !== null && /^\d+$/.test(total) ? Number(total) : null };
      const rowTexts = await page.locator('table#exceptions tbody tr').allTextContents();
      result.search.rows = rowTexts.length;
      check(rowTexts.length > 0, `searching for "${SEARCH}" shows no row`);
      check(
        rowTexts.every((t) => t.toLowerCase().includes(SEARCH)),
        `searching for "${SEARCH}" shows rows without it: ${JSON.stringify(rowTexts.filter((t) => !t.toLowerCase().includes(SEARCH)))}`,
      );
    });

    await step('accountant: target with a decimal comma', async () => {
      await goto(page, '/periods');
      await need(page, 'form#create-period');
      await page.fill('form#create-period [name=code]', SECOND_PERIOD.code);
      await page.fill('form#create-period [name=target_pct]', SECOND_PERIOD.target_pct);
      const resp = await submit(page, 'form#create-period');
      const m = pathOf(page).match(/^\/periods\/(\d+)$/);
      if (check(m, `creating period ${SECOND_PERIOD.code} with target "${SECOND_PERIOD.target_pct}" leads to ${await describe(page, resp)}`)) {
        result.second_period_id = Number(m[1]);
      }
    });

    await step('accountant: English and back', async () => {
      await goto(page, `/periods/${pid}`);
      await follow(page, 'a#lang-en');
      check((await htmlLang(page)) === 'en', `after a#lang-en <html lang> is ${await htmlLang(page)}, want en`);
      check(pathOf(page) === `/periods/${pid}`, `a#lang-en leads to ${pathOf(page)}, want the same page /periods/${pid}`);
      check((await count(page, '[data-figure=amount_paid]')) >= 1, 'no figures on the English dashboard');
      await screenshot(page, '07-dashboard-en.png', { fullPage: true });
      await goto(page, '/periods');
      check((await htmlLang(page)) === 'en', 'the English choice does not stick across pages (cookie)');
      await goto(page, `/periods/${pid}`);
      await follow(page, 'a#lang-vi');
      check((await htmlLang(page)) === 'vi', `after a#lang-vi <html lang> is ${await htmlLang(page)}, want vi`);
      check(pathOf(page) === `/periods/${pid}`, `a#lang-vi leads to ${pathOf(page)}, want /periods/${pid}`);
    });

    await step('accountant: audit page refused', async () => {
      const resp = await goto(page, '/audit');
      result.accountant_audit_status = resp ? resp.status() : null;
      check(resp && resp.status() === 403, `GET /audit as the accountant answered ${resp && resp.status()} at ${pathOf(page)}, want 403`);
      await goto(page, `/periods/${pid}`);
    });

    await step('accountant: POST without csrf', async () => {
      const r = await postFromPage(page, '/periods', { code: '2024-10', target_pct: '80' }, false);
      result.accountant_post_without_csrf = r.status;
      check(r.status === 403, `POST /periods without csrf answered ${r.status} (${r.type}), want 403`);
    });

    if (result.run_id !== null) {
      await step('accountant: submit the run for approval', async () => {
        await goto(page, `/runs/${result.run_id}`);
        const state = await need(page, '#run-state');
        check((await state.getAttribute('data-state')) === 'draft', `a new run's state is ${await state.getAttribute('data-state')}, want draft`);
        check((await count(page, 'form#approve-form')) === 0, 'form#approve-form shown to the accountant');
        await page.fill('form#submit-form textarea[name=reason]', 'Số liệu tháng 9, đã đối chiếu');
        const resp = await submit(page, 'form#submit-form');
        check(pathOf(page) === `/runs/${result.run_id}`, `submitting leads to ${await describe(page, resp)}`);
        const after = await need(page, '#run-state');
        result.approval.submitted = await after.getAttribute('data-state');
        check(result.approval.submitted === 'submitted', `after submitting the state is ${result.approval.submitted}, want submitted`);
        check((await count(page, 'table#run-steps tbody tr')) === 1, 'table#run-steps does not show the submission');
        await screenshot(page, '10-run-submitted.png');
      });
    }

    await step('accountant: sign out', async () => {
      await submit(page, 'form#logout');
      const resp = await goto(page, '/periods');
      check(pathOf(page) === '/login', `after signing out GET /periods ends on ${pathOf(page)} (${resp && resp.status()}), want /login`);
    });
  } finally {
    await context.close();
  }
}

/** The approver: approves the submitted run, sees the period closed, the accountant's
 * uploads refused, and downloads the official report (its cells checked on the Rust side). */
async function approver(browser) {
  const pid = result.period_id;
  const rid = result.run_id;
  const ap = result.approval;
  if (pid === null || rid === null) throw new Error('no run to approve');
  const context = await browser.newContext({
    viewport: { width: 1366, height: 768 },
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
    acceptDownloads: true,
  });
  const page = await context.newPage();
  watch(page, 'approver');
  try {
    await signIn(page, APPROVER_TOKEN, 'approver');
    await step('approver: no upload forms', async () => {
      await goto(page, `/periods/${pid}`);
      check((await count(page, 'form#upload-list')) === 0, 'form#upload-list shown to the approver');
      check((await count(page, 'form#run')) === 0, 'form#run shown to the approver');
      const row = page.locator(`table#runs tr[data-run-id="${rid}"] [data-state]`);
      check((await row.count()) === 1 && (await row.getAttribute('data-state')) === 'submitted', `table#runs does not show run ${rid} as submitted`);
    });
    await step('approver: approve', async () => {
      await goto(page, `/runs/${rid}`);
      await need(page, 'form#approve-form');
      await need(page, 'form#return-form textarea[name=reason][required]');
      const resp = await submit(page, 'form#approve-form');
      check(pathOf(page) === `/runs/${rid}`, `approving leads to ${await describe(page, resp)}`);
      ap.approved = await (await need(page, '#run-state')).getAttribute('data-state');
      check(ap.approved === 'approved', `after approving the state is ${ap.approved}, want approved`);
      await need(page, '#run-closed');
      await need(page, 'form#reopen-form textarea[name=reason][required]');
      ap.steps = await count(page, 'table#run-steps tbody tr');
      check(ap.steps === 2, `table#run-steps has ${ap.steps} rows after approval, want 2 (submit, approve)`);
      await screenshot(page, '11-run-approved.png');
    });
    await step('approver: the official report', async () => {
      const link = await need(page, 'a#download-xlsx');
      const out = path.join(OUT_DIR, 'approved-report.xlsx');
      const [dl] = await Promise.all([page.waitForEvent('download', { timeout: NAV_TIMEOUT }), link.click()]);
      await dl.saveAs(out);
      ap.xlsx = out;
    });
  } finally {
    await context.close();
  }

  // The accountant again: the closed period refuses what would change the approved figures.
  const acc = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh' });
  const page2 = await acc.newPage();
  watch(page2, 'accountant (closed)');
  try {
    await signIn(page2, ACCOUNTANT_TOKEN, 'accountant (closed)');
    await step('accountant: the closed period refuses uploads', async () => {
      await goto(page2, `/periods/${pid}`);
      await need(page2, '#period-closed');
      await need(page2, '#closed-banner');
      check((await count(page2, 'form#upload-list')) === 0, 'form#upload-list still shown in a closed period');
      check((await count(page2, 'form#upload-payouts')) === 0, 'form#upload-payouts still shown in a closed period');
      const r = await postFromPage(page2, `/periods/${pid}/uploads/list`, { csrf: '$CSRF' }, true);
      ap.closed_upload_status = r.status;
      check(r.status >= 400 && r.status < 500, `a list posted into the closed period answered ${r.status}, want a 4xx refusal naming the approved run`);
      await screenshot(page2, '12-period-closed.png');
    });
    await step('accountant: carry the approved run over into the next month', async () => {
      await goto(page2, '/periods');
      await need(page2, 'form#create-period');
      await page2.fill('form#create-period [name=code]', '2024-10');
      await page2.selectOption('form#create-period [name=programme]', PERIOD.programme);
      await submit(page2, 'form#create-period');
      const m = pathOf(page2).match(/^\/periods\/(\d+)$/);
      if (!m) throw new Error(`creating the next period leads to ${pathOf(page2)}`);
      await need(page2, '#arrears-none');
      await need(page2, `form#carry-over option[value="${rid}"]`, 'the approved run offered for carrying over');
      await submit(page2, 'form#carry-over');
      await need(page2, 'table#arrears-figures');
      await need(page2, 'table#carry-overs');
      const people = await text(page2.locator('table#arrears-figures tbody td').first());
      ap.arrears_people = Number(people.replace(/\D/g, ''));
      check(ap.arrears_people > 0, `table#arrears-figures counts ${people} people carried over, want some (the sample's unpaid)`);
      check((await count(page2, 'form#carry-over')) === 0, 'form#carry-over still offers the run already carried');
      await page2.locator('#arrears').scrollIntoViewIfNeeded();
      await screenshot(page2, '13-arrears-carried.png');
    });
  } finally {
    await acc.close();
  }
}

async function auditor(browser) {
  const pid = result.period_id;
  const a = result.auditor;
  const context = await browser.newContext({
    viewport: { width: 1366, height: 768 },
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
    acceptDownloads: true,
  });
  const page = await context.newPage();
  watch(page, 'auditor');
  try {
    await signIn(page, AUDITOR_TOKEN, 'auditor');
    a.signed_in = true;

    await step('auditor: periods list', async () => {
      await checkHeader(page, 'auditor');
      a.create_period_absent = (await count(page, 'form#create-period')) === 0;
      check(a.create_period_absent, 'form#create-period shown to the auditor');
      if (pid !== null) {
        check((await count(page, `table#periods tr[data-period-id="${pid}"]`)) === 1, `the auditor does not see period ${pid}`);
      }
    });
    if (pid === null) throw new Error('no period was created: the auditor has nothing to look at');

    await step('auditor: period page', async () => {
      await goto(page, `/periods/${pid}`);
      await checkHeader(page, 'auditor');
      a.upload_list_absent = (await count(page, 'form#upload-list')) === 0;
      a.upload_payouts_absent = (await count(page, 'form#upload-payouts')) === 0;
      a.run_absent = (await count(page, 'form#run')) === 0;
      check(a.upload_list_absent, 'form#upload-list shown to the auditor');
      check(a.upload_payouts_absent, 'form#upload-payouts shown to the auditor');
      check(a.run_absent, 'form#run shown to the auditor');
      a.figures = await readFigures(page);
    });

    await step('auditor: masked personal IDs', async () => {
      await need(page, 'table#exceptions');
      const body = await text(page.locator('table#exceptions tbody'));
      a.full_ids_in_table = fullIds(body);
      a.masked_ids = [...new Set(body.match(/\*{4,}\d{4}(?!\d)/g) || [])];
      check(a.full_ids_in_table.length === 0, `the auditor sees full personal IDs in table#exceptions: ${a.full_ids_in_table.join(', ')}`);
      check(a.masked_ids.length > 0, 'no masked ID like ********1234 in table#exceptions for the auditor');
      const html = await page.content();
      a.full_id_leaks_in_html = result.accountant_ids.filter((id) => html.includes(id));
      check(
        a.full_id_leaks_in_html.length === 0,
        `full personal IDs present in the auditor's page HTML (attributes, hidden fields…): ${a.full_id_leaks_in_html.join(', ')}`,
      );
      for (const id of result.accountant_ids) {
        if (!a.masked_ids.some((m) => m.endsWith(id.slice(-4)))) {
          note(`ID …${id.slice(-4)} seen by the accountant has no masked counterpart on the auditor's first page`);
        }
      }
    });

    await step('auditor: direct POST is refused', async () => {
      const r = await postFromPage(page, `/periods/${pid}/uploads/list`, { csrf: '$CSRF' }, true);
      a.csrf_found = r.csrf_found;
      a.direct_post_status = r.status;
      check(r.csrf_found, 'no input[name=csrf] value in form#logout for the auditor');
      check(r.status === 403, `auditor POST /periods/${pid}/uploads/list answered ${r.status} (${r.type}), want 403`);
    });

    if (result.run_id !== null) {
      await step('auditor: run page', async () => {
        const resp = await goto(page, `/runs/${result.run_id}`);
        check(resp && resp.status() === 200, `GET /runs/${result.run_id} as the auditor answered ${resp && resp.status()}`);
        a.run = await readFigures(page);
      });
    }

    await step('auditor: audit page', async () => {
      if ((await count(page, 'a#nav-audit')) === 1) await follow(page, 'a#nav-audit');
      else await goto(page, '/audit');
      check(pathOf(page) === '/audit', `a#nav-audit leads to ${pathOf(page)}, want /audit`);
      await need(page, 'table#audit');
      a.audit_rows = await count(page, 'table#audit tbody tr');
      check(a.audit_rows > 0, 'table#audit has no rows');
      const v = await need(page, '[data-audit-verified]');
      a.audit_verified = await v.getAttribute('data-audit-verified');
      check(a.audit_verified === 'true', `[data-audit-verified] is ${JSON.stringify(a.audit_verified)}, want "true"`);
      await checkHeader(page, 'auditor');
      await screenshot(page, '06-audit.png');
    });
  } finally {
    await context.close();
  }
}

/** Server errors and page script errors are failures wherever they happen. */
function watch(page, who) {
  page.on('response', (r) => {
    if (r.status() >= 500) {
      const m = `${who}: ${r.request().method()} ${new URL(r.url()).pathname} answered ${r.status()}`;
      result.http_errors.push(m);
      check(false, m);
    }
  });
  page.on('pageerror', (e) => {
    const m = `${who}: script error on ${pathOf(page)}: ${e.message}`;
    result.page_errors.push(m);
    check(false, m);
  });
  page.setDefaultTimeout(SELECTOR_TIMEOUT);
  page.setDefaultNavigationTimeout(NAV_TIMEOUT);
}

function writeResult() {
  result.ok = result.fatal.length === 0 && result.failures.length === 0;
  fs.writeFileSync(path.join(OUT_DIR, 'result.json'), JSON.stringify(result, null, 2));
}

async function main() {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  if (SCREENSHOT_DIR) fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
      ],
      timeout: 60_000,
    });
  } catch (e) {
    result.fatal.push(`launching ${CHROMIUM}: ${e.message.split('\n')[0]}`);
    writeResult();
    console.error(result.fatal[0]);
    process.exit(1);
  }
  try {
    for (const [role, flow] of [
      ['accountant', accountant],
      ['approver', approver],
      ['auditor', auditor],
    ]) {
      try {
        await flow(browser);
      } catch (e) {
        const m = `${role}: ${String(e && e.message ? e.message : e).split('\n')[0]}`;
        result.fatal.push(m);
        console.error(`FATAL ${m}`);
      }
    }
  } finally {
    await browser.close().catch(() => {});
    writeResult();
  }
  console.error(
    result.ok
      ? `web e2e: all ${result.steps.length} steps passed`
      : `web e2e: ${result.failures.length} failed checks, ${result.fatal.length} fatal`,
  );
  process.exit(result.ok ? 0 : 1);
}

main();
