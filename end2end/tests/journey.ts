// What the journeys on the demo org share: the two servers' addresses, waiting for hydration,
// signing in through the Okta simulator's login page, and a second person's browser.
import { expect } from './loopback';
import type { Page, Browser } from '@playwright/test';

export const gatepass = () => process.env.E2E_SIM_SIGNIN_URL!;
export const okta = () => process.env.E2E_OKTA_URL!;

// Pages opened without JavaScript: they post forms and never hydrate.
export const withoutJs = new WeakSet<Page>();

// With JavaScript, waits until the hydrated app has attached its handlers (a click before
// that would be lost); without, the page is ready as served.
export async function ready(page: Page) {
  if (!withoutJs.has(page)) {
    await page.waitForFunction(() => (window as any).__gatepassHydrated === true);
  }
}

export async function go(page: Page, path: string) {
  await page.goto(`${gatepass()}${path}`);
  await ready(page);
}

export async function signInAs(page: Page, name: RegExp, path: string) {
  await page.goto(`${gatepass()}${path}`);
  await expect(page).toHaveURL(new RegExp(`^${okta()}/oauth2/default/v1/authorize`));
  await page.getByRole('button', { name }).click();
  await expect(page).toHaveURL(`${gatepass()}${path}`);
  await ready(page);
}

// A second person, in a browser context of their own (kept on loopback too).
export async function personPage(browser: Browser, name: RegExp, path: string, javaScriptEnabled = true): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled });
  await context.route(/^(?!http:\/\/127\.0\.0\.1[:/])/, (route) => route.abort());
  const page = await context.newPage();
  if (!javaScriptEnabled) withoutJs.add(page);
  await signInAs(page, name, path);
  return page;
}
