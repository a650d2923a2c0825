// An access review on the demo org: an administrator starts a campaign over the aws-* groups,
// reviewed by each member's manager; Tom keeps one of his reports and revokes another (with
// JavaScript), and revokes a third from a browser without JavaScript; Tom's own membership
// goes to his manager, never to him. The administrator closes the review: the revoked
// memberships are gone from Okta (the simulator), the kept ones remain, and the report's CSV
// lists every decision.
import { test, expect } from './loopback';
import type { Page } from '@playwright/test';
import { gatepass, go, okta, personPage, signInAs } from './journey';

const auth = { Authorization: 'SSWS e2e-api-token' };

async function members(page: Page, group: string): Promise<string[]> {
  const groups = await (await page.request.get(`${okta()}/api/v1/groups?q=${group}`, { headers: auth })).json();
  const g = groups.find((x: { profile: { name: string } }) => x.profile.name === group);
  const res = await page.request.get(`${okta()}/api/v1/groups/${g.id}/users`, { headers: auth });
  return (await res.json()).map((u: { profile: { login: string } }) => u.profile.login);
}

const login = (name: string) => `${name}@northwind.example`;

test('a manager review over aws-* removes what is revoked and keeps what is kept', async ({ page, browser }) => {
  test.setTimeout(60_000);
  await signInAs(page, /Maya Okafor/, '/admin/reviews');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Access reviews');
  // A bad form says which field is wrong and starts nothing.
  await page.locator('#r-name').fill('Q4 AWS access');
  await page.locator('#r-patterns').fill('aws-prod');
  await page.getByRole('button', { name: 'Start review' }).click();
  await expect(page.getByTestId('review-form-error')).toContainText('Patterns');
  await page.locator('#r-patterns').fill('aws-*');
  await page.getByLabel("Each member's manager (Okta profile)").check();
  await page.getByRole('button', { name: 'Start review' }).click();
  const created = page.getByTestId('review-created');
  await expect(created).toContainText('Q4 AWS access is open');
  const href = await created.getByRole('link', { name: 'Open it' }).getAttribute('href');
  const id = href!.split('/').pop();

  // Tom reviews his reports; his own membership of aws-prod-readonly is not his to review.
  const tom = await personPage(browser, /Tom Becker/, '/reviews');
  await tom.getByTestId('my-reviews').getByRole('link', { name: 'Q4 AWS access' }).click();
  await expect(tom.getByTestId('review-name')).toHaveText('Q4 AWS access');
  const rows = tom.getByTestId('review-items');
  await expect(rows.locator('tr[data-person="Tom Becker"]')).toHaveCount(0);
  const row = (person: string, group: string) => rows.locator(`tr[data-person="${person}"][data-group="${group}"]`);
  await expect(row('Jonas Berg', 'aws-staging-admin')).toContainText('Outside Gatepass');
  await expect(row('Jonas Berg', 'aws-staging-admin')).toContainText('Backend Engineer');
  await row('Jonas Berg', 'aws-staging-admin').getByRole('button', { name: 'Keep' }).click();
  await expect(tom.getByTestId('review-decided')).toContainText('1 item decided');
  await expect(row('Jonas Berg', 'aws-staging-admin')).toHaveCount(0);
  const aiko = row('Aiko Tanaka', 'aws-staging-admin');
  await aiko.getByLabel('Comment on Aiko Tanaka').fill('moved to the data team');
  await aiko.getByRole('button', { name: 'Revoke' }).click();
  await expect(aiko).toHaveCount(0);
  // Nothing leaves Okta before the close.
  expect(await members(page, 'aws-staging-admin')).toContain(login('aiko.tanaka'));

  // Without JavaScript: Tom revokes Omar's read-only access; the page comes back without it.
  const tomNoJs = await personPage(browser, /Tom Becker/, `/reviews/${id}`, false);
  const omar = tomNoJs.getByTestId('review-items').locator('tr[data-person="Omar Haddad"][data-group="aws-prod-readonly"]');
  await omar.getByRole('button', { name: 'Revoke' }).click();
  await tomNoJs.waitForLoadState('load');
  await tomNoJs.goto(`${gatepass()}/reviews/${id}?state=decided`);
  await expect(tomNoJs.getByTestId('review-items').locator('tr[data-person="Omar Haddad"][data-group="aws-prod-readonly"]')).toHaveAttribute('data-decision', 'revoke');

  // Priya, Tom's manager, has Tom's own membership to review.
  const priya = await personPage(browser, /Priya Natarajan/, `/reviews/${id}`);
  await expect(priya.getByTestId('review-items').locator('tr[data-person="Tom Becker"][data-group="aws-prod-readonly"]')).toBeVisible();

  // Maya closes it: what nobody decided is kept (the default), the revocations go to Okta.
  await go(page, `/admin/reviews/${id}`);
  await expect(page.getByTestId('review-state')).toContainText('Open');
  await page.getByRole('button', { name: 'Close review now' }).click();
  await expect(page.getByTestId('review-closed')).toContainText('closed');
  await expect(page.getByTestId('review-state')).toContainText('Closed');
  await expect(page.getByTestId('review-summary')).toContainText('2 revoked');
  await expect.poll(() => members(page, 'aws-staging-admin'), { timeout: 10_000 }).not.toContain(login('aiko.tanaka'));
  await expect.poll(() => members(page, 'aws-prod-readonly'), { timeout: 10_000 }).not.toContain(login('omar.haddad'));
  expect(await members(page, 'aws-staging-admin')).toContain(login('jonas.berg'));
  expect(await members(page, 'aws-prod-readonly')).toContain(login('tom.becker'));

  // The report lists both decisions, who made them, and the Okta outcome.
  const csv = await (await page.request.get(`${gatepass()}/admin/reviews/${id}/report.csv`)).text();
  const line = (person: string, group: string) => csv.split('\r\n').find((l) => l.includes(login(person)) && l.includes(`"${group}"`)) ?? '';
  expect(csv.split('\r\n')[0]).toContain('decision');
  expect(line('jonas.berg', 'aws-staging-admin')).toContain('"keep"');
  expect(line('aiko.tanaka', 'aws-staging-admin')).toContain('"revoke"');
  expect(line('aiko.tanaka', 'aws-staging-admin')).toContain('moved to the data team');
  expect(line('aiko.tanaka', 'aws-staging-admin')).toContain(login('tom.becker'));
});
