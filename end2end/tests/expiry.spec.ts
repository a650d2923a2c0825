// The grant engine in the browser, on the demo org: a one-minute grant from request to expiry,
// watched on the admin's view of the group and in the audit log, read back from the log to the
// request's own page (its story); and a membership made in
// Okta behind Gatepass's back, found as drift after a sync and revoked.
import { test, expect } from './loopback';
import type { Page } from '@playwright/test';
import { go, okta, personPage, ready, signInAs } from './journey';

const auth = { Authorization: 'SSWS e2e-api-token' };

async function savePolicy(page: Page, group: string, approvers: string, duration: string) {
  await go(page, '/admin/policies');
  await page.locator('#applies_to').fill(group);
  await page.locator('#eligible_groups').fill('');
  await page.locator('#approver_users').fill(approvers);
  await page.locator('#default_duration').fill(duration);
  await page.locator('#max_duration').fill('1h');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByTestId('policy-saved')).toBeVisible();
}

// Logins of the members Okta (the simulator) lists in `group`.
async function oktaMembers(page: Page, group: string): Promise<string[]> {
  const groups = await (await page.request.get(`${okta()}/api/v1/groups?q=${group}`, { headers: auth })).json();
  const res = await page.request.get(`${okta()}/api/v1/groups/${groups[0].id}/users`, { headers: auth });
  return (await res.json()).map((u: { profile: { login: string } }) => u.profile.login);
}

test('a one-minute grant: member on the group page at approval, gone at expiry, every step audited', async ({ page, browser }) => {
  test.setTimeout(180_000);
  await signInAs(page, /Maya Okafor/, '/admin/policies');
  await savePolicy(page, 'prod-db-admin', 'nora.lindqvist@northwind.example', '1m');

  // Jonas asks for one minute; Nora approves.
  const jonas = await personPage(browser, /Jonas Berg/, '/request?q=prod-db-admin');
  await jonas.getByTestId('catalog').locator('li[data-group="prod-db-admin"]').getByRole('link', { name: 'Request' }).click();
  await ready(jonas);
  await jonas.locator('#duration').fill('1m');
  await jonas.locator('#reason').fill('run the index migration');
  await jonas.getByRole('button', { name: 'Send request' }).click();
  await expect(jonas.getByTestId('request-sent')).toContainText('waiting for approval');
  const nora = await personPage(browser, /Nora Lindqvist/, '/approvals');
  const item = nora.getByTestId('queue').locator('li').filter({ hasText: 'prod-db-admin' });
  await item.getByLabel('Comment').fill('one minute is enough');
  await item.getByRole('button', { name: 'Approve' }).click();
  await expect(nora.getByTestId('decision-recorded')).toContainText('approved');

  // Admin › Requests and grants finds the live grant by the group's name.
  await go(page, '/admin/access?q=prod-db-admin');
  await expect(page.getByTestId('admin-grants').locator('tr[data-group="prod-db-admin"]')).toContainText('Jonas Berg');

  // The admin's view of the group lists Jonas at once, through his grant.
  await go(page, '/admin/groups?q=prod-db-admin');
  await page.getByTestId('groups').getByRole('link', { name: 'prod-db-admin' }).click();
  await expect(page).toHaveURL(/\/admin\/groups\/00g/);
  await ready(page);
  const groupId = new URL(page.url()).pathname.split('/').pop()!;
  const row = page.getByTestId('members').locator('tr[data-login="jonas.berg@northwind.example"]');
  await expect(row).toContainText(/Gatepass grant #\d+/);
  await expect(row.getByTestId('countdown')).toContainText(/\d+s left/);
  expect(await oktaMembers(page, 'prod-db-admin')).toContain('jonas.berg@northwind.example');

  // A minute later the membership is gone: from Okta and from the group page.
  await expect
    .poll(() => oktaMembers(page, 'prod-db-admin'), { timeout: 90_000, intervals: [1000] })
    .not.toContain('jonas.berg@northwind.example');
  await page.reload();
  await ready(page);
  await expect(page.getByTestId('members-empty')).toBeVisible();

  // The audit log, filtered by the group, tells the whole story.
  await go(page, `/admin/audit?subject=${groupId}`);
  const log = page.getByTestId('audit');
  for (const action of [
    'policy.saved',
    'request.created',
    'request.approval_recorded',
    'request.approved',
    'grant.started',
    'okta.membership.added',
    'grant.expired',
    'okta.membership.removed',
  ]) {
    await expect(log.locator('tr').filter({ hasText: action }).first()).toBeVisible();
  }
  // Each event reads as a sentence with names, and the request in it links to its story.
  const approved = log.locator('tr').filter({ hasText: 'request.approved' }).first();
  await expect(approved).toContainText('Nora Lindqvist');
  await approved.getByRole('link', { name: /request #\d+/ }).click();
  await expect(page).toHaveURL(/\/requests\/\d+$/);
  await ready(page);
  const story = page.getByTestId('story');
  await expect(story).toContainText('Jonas Berg');
  await expect(story).toContainText('run the index migration');
  await expect(page.getByTestId('story-decisions')).toContainText('one minute is enough');
  // The Okta changes, added then removed, each done.
  const ops = page.getByTestId('story-ops');
  await expect(ops.locator('tr[data-op="add"]')).toContainText('done');
  await expect(ops.locator('tr[data-op="remove"]')).toContainText('done');
  await expect(page.getByTestId('story-events')).toContainText('okta.membership.removed');

  // Jonas may read his own request's story; another engineer is told it does not exist.
  await go(jonas, new URL(page.url()).pathname);
  await expect(jonas.getByTestId('story')).toContainText('Jonas Berg');
  const aiko = await personPage(browser, /Aiko Tanaka/, new URL(page.url()).pathname);
  await expect(aiko.getByTestId('story')).toHaveCount(0);
  await expect(aiko.locator('[role="alert"][data-status="404"]')).toBeVisible();
});

test('a membership made in Okta outside Gatepass is drift after a sync; revoking removes it', async ({ page }) => {
  await signInAs(page, /Maya Okafor/, '/admin/policies');
  await savePolicy(page, 'break-glass', 'tom.becker@northwind.example', '1h');

  // Someone adds Aiko to break-glass in Okta directly.
  const groups = await (await page.request.get(`${okta()}/api/v1/groups?q=break-glass`, { headers: auth })).json();
  const aiko = await (await page.request.get(`${okta()}/api/v1/users/aiko.tanaka@northwind.example`, { headers: auth })).json();
  const put = await page.request.put(`${okta()}/api/v1/groups/${groups[0].id}/users/${aiko.id}`, { headers: auth });
  expect(put.status()).toBe(204);

  await go(page, '/admin/sync');
  await page.getByRole('button', { name: 'Sync changes' }).click();
  await expect(page.getByTestId('sync-started')).toBeVisible();

  const drift = page.locator('tr[data-group="break-glass"][data-person="Aiko Tanaka"]');
  await expect
    .poll(async () => {
      await go(page, '/admin/drift');
      return drift.count();
    }, { timeout: 30_000, intervals: [1000] })
    .toBe(1);
  await expect(drift).toContainText('Member in Okta, but not through Gatepass');
  await go(page, '/admin');
  await expect(page.getByTestId('alert-drift')).toContainText('difference(s) between Okta and the grants');

  await go(page, '/admin/drift');
  await drift.getByRole('button', { name: 'Revoke' }).click();
  await expect(page.getByTestId('drift-done')).toContainText('Aiko Tanaka in break-glass: revoked');
  await expect
    .poll(() => oktaMembers(page, 'break-glass'), { timeout: 5000 })
    .not.toContain('aiko.tanaka@northwind.example');
  await go(page, '/admin/drift?state=resolved');
  await expect(drift).toContainText('revoked by maya.okafor@northwind.example');
});
