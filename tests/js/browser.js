// Drives the test front end (tests/ui) in Debian's headless Chromium with Playwright: opens a deep
// link, logs in, waits for the sandbox room, launches a recommendation, and prints what it saw as one
// JSON object.
//
// argv: <page URL> <email> <password>
// env:  CHROMIUM (default /usr/bin/chromium)
'use strict';
const { chromium } = require('playwright-core');

const [url, email, password] = process.argv.slice(2);

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // As root in a sandbox-less container, on a closed network: no sandbox, no background traffic.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const report = { failedRequests: [], consoleErrors: [] };
  try {
    const page = await browser.newPage();
    page.on('console', (message) => { if (message.type() === 'error') report.consoleErrors.push(message.text()); });
    page.on('requestfailed', (request) => report.failedRequests.push(`${request.method()} ${request.url()}`));
    page.on('response', (response) => {
      if (response.status() >= 400) report.failedRequests.push(`${response.status()} ${response.url()}`);
    });
    const opened = await page.goto(url);
    report.deepLinkStatus = opened.status();
    report.title = await page.title();
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.click('#submit');
    await page.waitForSelector('#launch', { state: 'visible', timeout: 20000 });
    await page.click('#launch');
    await page.waitForFunction(() => document.getElementById('answer').textContent !== '', null, { timeout: 20000 });
    report.answer = await page.textContent('#answer');
    report.location = new URL(page.url()).pathname;
    report.seen = await page.evaluate(() => window.seen);
    report.transport = await page.evaluate(() => window.transport);
  } catch (error) {
    report.error = String(error);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(report) + '\n');
})();
