// Opens the Swagger UI (served with its Content-Security-Policy) in Debian's headless Chromium and
// prints, as one JSON object, what it rendered (tags, operations) and every console error (a policy
// violation is one). With an e-mail and password it also uses the page as a person would: "Try it
// out" on login, "Authorize" with the token that came back, then "Try it out" on a popular list.
//
// argv: <page URL> [<email> <password>]
'use strict';
const { chromium } = require('playwright-core');

async function tryOut(page, id, fill) {
  const block = page.locator(`#${id}`);
  await block.locator('.opblock-summary').first().click();
  await block.locator('.try-out__btn').click();
  await fill(block);
  await block.locator('.execute').click();
  const status = block.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor({ timeout: 20000 });
  const body = await block.locator('.live-responses-table .response-col_description pre').first().textContent();
  return { status: Number((await status.textContent()).trim()), body };
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const report = { consoleErrors: [] };
  const [url, email, password] = process.argv.slice(2);
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') report.consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => report.consoleErrors.push(String(e)));
    const response = await page.goto(url);
    report.csp = response.headers()['content-security-policy'] || null;
    await page.waitForSelector('.opblock', { timeout: 20000 });
    report.operations = await page.locator('.opblock').count();
    report.title = await page.textContent('.info .title');
    report.tags = await page.locator('.opblock-tag').evaluateAll((els) => els.map((e) => e.getAttribute('data-tag')));
    report.operationIds = await page.locator('.opblock').evaluateAll((els) => els.map((e) => e.id));
    if (email) {
      const login = await tryOut(page, 'operations-auth-login', async (block) => {
        await block.locator('textarea.body-param__text').fill(JSON.stringify({ email, password }));
      });
      const token = JSON.parse(login.body).access_token;
      report.login = { status: login.status, token: Boolean(token) };
      await page.locator('.auth-wrapper .authorize').first().click();
      const modal = page.locator('.modal-ux');
      await modal.locator('input').first().fill(token);
      await modal.locator('.auth-btn-wrapper .authorize').click();
      await modal.locator('.btn-done').click();
      const popular = await tryOut(page, 'operations-media-popular', async (block) => {
        await block.locator('tr[data-param-name="medium"] select').selectOption('movie');
        await block.locator('tr[data-param-name="page"] input').fill('1');
      });
      const body = JSON.parse(popular.body);
      report.popular = { status: popular.status, message: body.message, items: (body.content || []).length };
    }
  } catch (error) {
    report.error = String(error);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(report) + '\n');
})();
