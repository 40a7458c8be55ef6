import { chromium, type Browser, type Page } from 'playwright-core';
import { describeWithProgram } from './system-tools.js';

/** Debian's chromium (package `chromium`); playwright never downloads a browser here. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for this closed network (see the machine notes): without the background-networking ones
 * Chromium keeps trying to reach Google's hosts and is refused. Tests run as root in CI, hence
 * --no-sandbox.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Headless Debian Chromium. `chromium.launch` (which refuses a `--user-data-dir` argument) gives
 * every launch a new, empty profile directory of its own in the temp folder and removes it once
 * the browser has exited, so no state carries over between tests or runs.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** `describe` when Debian's chromium is installed; skipped with one line outside CI, fails in CI. */
export const describeWithBrowser = describeWithProgram('chromium', 'chromium');

/** Collects the page's console errors and uncaught exceptions into `errors`, for a test to assert none. */
export function collectPageErrors(page: Page, errors: string[]): void {
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
}
