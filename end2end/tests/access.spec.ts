// The access workflow in the browser, on the demo org: an admin makes a group requestable; a
// requester asks for it; an approver (a second browser context) approves with a comment; the
// requester sees the grant counting down.
import { test, expect } from './loopback';
import type { Page, Browser } from '@playwright/test';

const gatepass = () => process.env.E2E_SIM_SIGNIN_URL!;
const okta = () => process.env.E2E_OKTA_URL!;

async function signInAs(page: Page, name: RegExp, path: string) {
  await page.goto(`${gatepass()}${path}`);
  await expect(page).toHaveURL(new RegExp(`^${okta()}/oauth2/default/v1/authorize`));
  await page.getByRole('button', { name }).click();
  await expect(page).toHaveURL(`${gatepass()}${path}`);
}

async function personPage(browser: Browser, name: RegExp, path: string): Promise<Page> {
  const context = await browser.newContext();
  // Keep the second person on loopback too.
  await context.route(/^(?!http:\/\/127\.0\.0\.1[:/])/, (route) => route.abort());
  const page = await context.newPage();
  await signInAs(page, name, path);
  return page;
}

test('request, approve with a comment, and hold the group with a countdown', async ({ page, browser }) => {
  // An admin makes prod-db-readonly requestable for engineers, approved by Tom.
  await signInAs(page, /Maya Okafor/, '/admin/policies');
  await page.locator('#applies_to').fill('prod-db-readonly');
  await page.locator('#eligible_groups').fill('engineering');
  await page.locator('#approver_users').fill('tom.becker@northwind.example');
  await page.locator('#default_duration').fill('1h');
  await page.locator('#max_duration').fill('4h');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByTestId('policy-saved')).toBeVisible();
  await expect(page.getByTestId('policies')).toContainText('prod-db-readonly');

  // A bad policy names the field and saves nothing.
  await page.locator('#applies_to').fill('AD-VPN-Users');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByTestId('policy-error')).toContainText('Requestable');

  // Diego (engineering) finds it in the catalog and asks for it.
  const diego = await personPage(browser, /Diego Alvarez/, '/request');
  const entry = diego.getByTestId('catalog').locator('li[data-group="prod-db-readonly"]');
  await expect(entry).toContainText('approved by Tom Becker');
  await entry.getByRole('link', { name: 'Request' }).click();
  await diego.locator('#duration').fill('9h');
  await diego.locator('#reason').fill('investigate the slow report query');
  await diego.getByRole('button', { name: 'Send request' }).click();
  await expect(diego.getByTestId('request-error')).toContainText('Duration');
  await diego.locator('#duration').fill('2h');
  await diego.getByRole('button', { name: 'Send request' }).click();
  await expect(diego.getByTestId('request-sent')).toContainText('waiting for approval');

  // Tom approves it with a comment.
  const tom = await personPage(browser, /Tom Becker/, '/approvals');
  const item = tom.getByTestId('queue').locator('li').filter({ hasText: 'prod-db-readonly' });
  await expect(item).toContainText('Diego Alvarez');
  await expect(item).toContainText('investigate the slow report query');
  await item.getByLabel('Comment').fill('go ahead');
  await item.getByRole('button', { name: 'Approve' }).click();
  await expect(tom.getByTestId('decision-recorded')).toContainText('approved');
  await expect(tom.getByTestId('queue-empty')).toBeVisible();

  // Diego holds it now, counting down.
  await diego.goto(`${gatepass()}/access`);
  const grant = diego.getByTestId('grants').locator('tr[data-group="prod-db-readonly"]');
  await expect(grant).toContainText('active');
  await expect(grant.getByTestId('countdown')).toContainText(/1h 5\dm \d\ds left/);
});
