/**
 * Headless Chromium for the `fnmesh ui` browser tests: Debian's `chromium` package (.ci/run
 * installs it; `FNMESH_CHROMIUM` names another), driven by playwright-core, a fresh profile each
 * time. Screenshots for the docs are taken only when `FNMESH_UI_SCREENSHOTS` names a folder.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

const CHROMIUM = process.env.FNMESH_CHROMIUM ?? '/usr/bin/chromium';
/** Set to a folder (docs/ui) to write the screenshots the docs show; unset, none are taken. */
export const SCREENSHOTS = process.env.FNMESH_UI_SCREENSHOTS;

/** A headless Chromium with a fresh profile; `close` ends it and removes the profile. */
export async function openChromium(): Promise<{ browser: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'fnmesh-ui-chromium-'));
  // playwright passes the profile as --user-data-dir (it refuses that flag in args).
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * One headless Chromium for the calling test file: opened before its tests (`beforeAll`), closed
 * after them (`afterAll`). Call it at the file's top level; `newPage()` opens a page in it.
 */
export function chromiumForFile(): { newPage(): Promise<Page> } {
  let opened: Awaited<ReturnType<typeof openChromium>> | undefined;
  beforeAll(async () => {
    opened = await openChromium();
  }, 60_000);
  afterAll(() => opened?.close());
  return {
    newPage() {
      if (!opened) throw new Error('chromiumForFile: the browser opens in beforeAll; ask for a page inside a test');
      return opened.browser.newPage();
    },
  };
}

/** Saves `page` as `<name>-light.png` and `<name>-dark.png` when SCREENSHOTS is set. */
export async function screenshots(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${colorScheme}.png`), fullPage: true });
  }
}

/** The text of the first cell `field` (`data-field`) in the rows `row` (a selector). */
export const cellText = (page: Page, row: string, field: string) => page.locator(`${row} [data-field="${field}"]`).first().textContent();
