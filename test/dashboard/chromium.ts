/**
 * Debian's Chromium (scripts/install-test-deps.sh) driven by playwright-core: playwright's own
 * browser download is never used. Headless, with the hub's development CA not trusted by the
 * browser, so certificate errors are ignored for the test's own hub on localhost only.
 */
import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

export function chromiumPath(): string {
  return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Root in CI and containers has no user namespace sandbox; the browser only loads the test hub.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}
