// The console in a real browser: Debian's chromium driven by playwright-core against a real
// `minga-hub serve` that hub/tests/console_browser.rs started (with phones already synced into
// it), which passes what it set up as JSON in MINGA_CONSOLE_TEST. Exits non-zero on the first
// failed check; the Rust test then has the phone sync and read the review written here.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const setup = JSON.parse(process.env.MINGA_CONSOLE_TEST);
const {
  base, project, otherProject, user, password, slowUser, rosa, hostile, hostileText, theirs, conflicted, brokenForm,
  screenshots, feelingUnsafe, exportZip, indicatorsJson, located, outline,
} = setup;
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

mkdirSync(screenshots, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'minga-console-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  locale: 'en-US',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ],
});

// Every request any page makes must go to the hub itself.
const elsewhere = [];
context.on('request', (request) => {
  if (!request.url().startsWith(base)) elsewhere.push(request.url());
});
const page = context.pages()[0] ?? (await context.newPage());
// A script that ran would open a dialog (the hostile answer calls alert).
const dialogs = [];
page.on('dialog', async (dialog) => {
  dialogs.push(dialog.message());
  await dialog.dismiss();
});

async function shoot(name) {
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

/** axe-core on the page as it stands: no serious or critical violation. */
async function accessible(name) {
  // Evaluated through the browser's debugging protocol, which the page's policy does not
  // govern: the page itself may load no script, and does not.
  await page.evaluate(axeSource);
  const results = await page.evaluate(() => globalThis.axe.run());
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help}`), [], `${name}: accessibility`);
}

async function signIn(name, secret) {
  await page.goto(`${base}/console/sign-in`);
  await page.fill('#name', name);
  await page.fill('#password', secret);
  await Promise.all([page.waitForLoadState(), page.click('button[type=submit] >> text=Sign in')]);
}

async function rowsShown() {
  return page.locator('#submissions tbody tr').count();
}

try {
  // Unsigned, the console sends the browser to the sign-in.
  await page.goto(`${base}/console`);
  assert.match(page.url(), /\/console\/sign-in$/);
  await accessible('sign-in');
  await shoot('sign-in');

  // Wrong passwords: three are typing mistakes, then that account waits at this address.
  for (let attempt = 0; attempt < 3; attempt++) {
    await signIn(slowUser, 'not the password');
    assert.equal(await page.textContent('#message'), 'Wrong name or password.');
  }
  await signIn(slowUser, password);
  assert.match(await page.textContent('#message'), /try again in \d+ s\./);
  await shoot('sign-in-waiting');

  // Sara signs in and sees her project.
  await signIn(user, password);
  assert.equal(new URL(page.url()).pathname, '/console');
  await page.click(`text=${project}`);
  assert.equal(await rowsShown(), 50, 'a full first page');
  await accessible('submissions');
  await shoot('submissions');
  await page.click('a[rel=next]');
  assert.equal(await rowsShown(), 8, 'the rest on the second page (58 in all)');

  // Search and filter.
  await page.goto(`${base}/console/p/${project}/submissions`);
  await page.fill('input[name=q]', 'Rosa');
  await page.click('button >> text=Filter');
  assert.equal(await rowsShown(), 1);

  // Filtered by a select question's answer, from the answers' section of the filters.
  await page.goto(`${base}/console/p/${project}/submissions?form=safety_walk`);
  await page.click('.answer-filters summary');
  await page.selectOption('select[name="a.feels_safe"]', 'no');
  await page.click('button >> text=Filter');
  assert.equal(await rowsShown(), feelingUnsafe, 'those who feel unsafe at night');

  // The hostile answer is text: no dialog, no injected element, the characters shown.
  await page.goto(`${base}/console/p/${project}/submissions/${hostile}`);
  assert.equal(await page.locator('main img').count(), 0);
  assert.ok((await page.textContent('#answers')).includes(hostileText));
  assert.deepEqual(dialogs, []);

  // Rosa's submission: approve it and flag her answer with a comment.
  await page.goto(`${base}/console/p/${project}/submissions/${rosa}`);
  await accessible('submission');
  await shoot('submission');
  await page.check('input[name=state][value=approved]');
  await page.selectOption('#question', 'respondent');
  await page.fill('#comment', 'Check the surname with her');
  await Promise.all([page.waitForLoadState(), page.click('button >> text=Save the review')]);
  assert.match(await page.textContent('#review-state'), /Approved · Decided by sara/);
  assert.match(await page.textContent('#comments'), /respondent: Check the surname with her/);
  await shoot('submission-reviewed');

  // The language switch.
  await page.click('a[hreflang=es]');
  assert.match(await page.textContent('#review-state'), /Aprobada/);
  await page.click('a[hreflang=en]');

  // A conflict two phones made: both values side by side, Ana's kept with one click.
  await page.goto(`${base}/console/p/${project}/submissions/${conflicted}`);
  const values = page.locator('#conflicts tbody tr');
  assert.equal(await values.count(), 2);
  await accessible('conflict');
  await shoot('conflict');
  await Promise.all([
    page.waitForLoadState(),
    values.filter({ hasText: 'Marta Pérez' }).locator('button').click(),
  ]);
  assert.equal(await page.locator('#conflicts').count(), 0, 'settled');
  assert.ok((await page.textContent('#answers')).includes('Marta Pérez'));

  // Another project's pages, by URL, are not found.
  for (const path of [`/console/p/${otherProject}/submissions`, `/console/p/${otherProject}/submissions/${theirs}`]) {
    const response = await page.goto(`${base}${path}`);
    assert.equal(response.status(), 404, path);
  }

  // A POST with the session's cookie but without its CSRF token (what a forged cross-site
  // form would send) is refused.
  const forged = await context.request.post(`${base}/console/p/${project}/submissions/${hostile}/review`, {
    form: { state: 'rejected' },
    maxRedirects: 0,
  });
  assert.equal(forged.status(), 403);

  // A broken XLSForm: nothing published, every mistake at its sheet, row and column.
  await page.goto(`${base}/console/p/${project}/forms`);
  await page.setInputFiles('#form-file', brokenForm);
  await Promise.all([page.waitForLoadState(), page.click('button >> text=Publish a new version')]);
  assert.match(await page.textContent('#refusal'), /Nothing was published/);
  assert.ok((await page.locator('#mistakes tbody tr').count()) >= 5, 'the mistakes listed');
  await accessible('forms');
  await shoot('form-mistakes');

  // Enrolling a device from the page: its code as text and as a QR code drawn in the page.
  await page.goto(`${base}/console/p/${project}/devices`);
  await accessible('devices');
  await page.fill('#device-name', 'Tablet 3');
  await Promise.all([page.waitForLoadState(), page.click('button >> text=Enrol a device')]);
  assert.match(await page.textContent('#code'), /\S{4,}/);
  assert.equal(await page.locator('.qr svg[role=img]').count(), 1);
  await accessible('enrolled');
  await shoot('enrolled');

  // The export: one zip, downloaded from the page.
  await page.goto(`${base}/console/p/${project}/export`);
  await accessible('export');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('button >> text=Download')]);
  assert.equal(download.suggestedFilename(), `minga-${project}-csv.zip`);

  // The JSON export, kept for the Rust side to count from.
  await page.selectOption('#format', 'json');
  const [json] = await Promise.all([page.waitForEvent('download'), page.click('button >> text=Download')]);
  await json.saveAs(exportZip);

  // Indicators: concerns per answer to "feels safe", as the Rust side will count them from
  // the export; the chart is the hub's own SVG, the CSV a download.
  await page.goto(`${base}/console/p/${project}/indicators`);
  await page.selectOption('select[name=form]', 'safety_walk');
  await page.click('button >> text=Show');
  await page.selectOption('select[name=question]', 'concerns');
  await page.selectOption('select[name=group]', 'feels_safe');
  await page.click('button >> text=Show');
  const indicator = await page.$$eval('#indicator tbody tr', (rows) => {
    const values = [...document.querySelectorAll('#indicator thead th[data-value]')].map((th) => th.dataset.value);
    return rows.map((row) => {
      const counts = [...row.querySelectorAll('td:not(.total)')].map((td) => parseInt(td.textContent, 10));
      return {
        group: row.dataset.group,
        total: parseInt(row.querySelector('td.total').textContent, 10),
        cells: Object.fromEntries(values.map((value, i) => [value, counts[i]])),
      };
    });
  });
  writeFileSync(indicatorsJson, JSON.stringify(indicator));
  assert.ok((await page.locator('figure svg rect').count()) > 0, 'the chart has bars');
  await accessible('indicators');
  await shoot('indicators');
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('text=Download CSV')]);
  assert.equal(csv.suggestedFilename(), `minga-${project}-concerns-by-feels_safe.csv`);

  // The map: every located submission is a point or counted in a gathering, over the
  // country's outline until the office uploads its own.
  await page.goto(`${base}/console/p/${project}/map?form=safety_walk&colour=feels_safe`);
  const counted = await page.$$eval('#map circle', (circles) => circles.reduce((sum, c) => sum + Number(c.dataset.count), 0));
  assert.equal(counted, located, 'points and gatherings add up to the located submissions');
  assert.match(await page.textContent('#located'), new RegExp(`: ${located}$`));
  const rings = async () => ((await page.getAttribute('#map path', 'd')).match(/Z/g) ?? []).length;
  assert.ok((await rings()) > 1, "the country's outline (mainland and islands)");
  await accessible('map');
  await shoot('map');
  const single = page.locator('#map a:not(:has(text)) circle').first();
  if (await single.count()) {
    await Promise.all([page.waitForLoadState(), single.click()]);
    assert.match(page.url(), /\/submissions\/[0-9a-f-]{36}$/, 'a point opens its submission');
    await page.goBack();
  }
  await page.setInputFiles('#outline-file', outline);
  await Promise.all([page.waitForLoadState(), page.click('button >> text=Upload')]);
  assert.equal(await rings(), 1, "the office's outline instead");

  await page.goto(`${base}/console/p/${project}/audit`);
  await accessible('audit');
  await shoot('audit');
  assert.match(await page.textContent('main'), /approve, flag answer respondent/);
  assert.match(await page.textContent('main'), /settle respondent/);
  assert.match(await page.textContent('main'), /export indicators csv/);
  assert.match(await page.textContent('main'), /upload map outline/);

  // Signing out ends the session.
  await page.click('button >> text=Sign out');
  assert.match(page.url(), /\/console\/sign-in$/);
  await page.goto(`${base}/console/p/${project}/submissions`);
  assert.match(page.url(), /\/console\/sign-in$/);

  assert.deepEqual(elsewhere, [], 'requests that left the hub');
  console.log('console browser test: every check passed');
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
