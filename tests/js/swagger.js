// Opens the Swagger UI (served with its Content-Security-Policy) in Debian's headless Chromium and
// prints, as one JSON object, how many operations it rendered and every console error (a policy
// violation is one).
//
// argv: <page URL>
'use strict';
const { chromium } = require('playwright-core');

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const report = { consoleErrors: [] };
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') report.consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => report.consoleErrors.push(String(e)));
    const response = await page.goto(process.argv[2]);
    report.csp = response.headers()['content-security-policy'] || null;
    await page.waitForSelector('.opblock', { timeout: 20000 });
    report.operations = await page.locator('.opblock').count();
    report.title = await page.textContent('.info .title');
  } catch (error) {
    report.error = String(error);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(report) + '\n');
})();
