// The access workflow in the browser, on the demo org: an admin makes a group requestable; a
// requester asks for it; an approver (a second browser context) approves with a comment; the
// requester sees the grant counting down.
import { test, expect } from './loopback';
import type { Page } from '@playwright/test';
import { gatepass, go, okta, personPage, ready, signInAs } from './journey';

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

  // A bad policy names the field and saves nothing: a group filled from another directory is
  // not taken by name.
  await page.locator('#applies_to').fill('AD-VPN-Users');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByTestId('policy-error')).toContainText('Applies to');
  await expect(page.getByTestId('policy-error')).toContainText('APP_GROUP');

  // Diego (engineering) finds it in the catalog and asks for it.
  const diego = await personPage(browser, /Diego Alvarez/, '/request');
  const entry = diego.getByTestId('catalog').locator('li[data-group="prod-db-readonly"]');
  await expect(entry).toContainText('approved by Tom Becker');
  await entry.getByRole('link', { name: 'Request' }).click();
  await ready(diego);
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

  // The grant engine added the membership in Okta (the simulator) at once.
  const auth = { Authorization: 'SSWS e2e-api-token' };
  const groups = await (await page.request.get(`${okta()}/api/v1/groups?q=prod-db-readonly`, { headers: auth })).json();
  const members = async () => {
    const res = await page.request.get(`${okta()}/api/v1/groups/${groups[0].id}/users`, { headers: auth });
    return (await res.json()).map((u: { profile: { login: string } }) => u.profile.login);
  };
  await expect.poll(members, { timeout: 5000 }).toContain('diego.alvarez@northwind.example');

  // Diego holds it now, counting down.
  await go(diego, '/access');
  const grant = diego.getByTestId('grants').locator('tr[data-group="prod-db-readonly"]');
  await expect(grant).toContainText('active');
  await expect(grant.getByTestId('countdown')).toContainText(/1h 5\dm \d\ds left/);

  // Giving it back removes the membership in Okta at once.
  await grant.getByRole('button', { name: 'Give back now' }).click();
  await expect.poll(members, { timeout: 5000 }).not.toContain('diego.alvarez@northwind.example');
});

async function savePolicy(page: Page, group: string, eligible: string, approvers: string, quorum = '1') {
  await go(page, '/admin/policies');
  await page.locator('#applies_to').fill(group);
  await page.locator('#eligible_groups').fill(eligible);
  await page.locator('#approver_users').fill(approvers);
  await page.locator('#quorum').fill(quorum);
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByTestId('policy-saved')).toBeVisible();
}

async function ask(page: Page, group: string, reason: string) {
  await go(page, `/request?q=${encodeURIComponent(group)}`);
  await page.getByTestId('catalog').locator(`li[data-group="${group}"]`).getByRole('link', { name: 'Request' }).click();
  await ready(page);
  await page.locator('#duration').fill('1h');
  await page.locator('#reason').fill(reason);
  await page.getByRole('button', { name: 'Send request' }).click();
}

async function decide(page: Page, group: string, button: 'Approve' | 'Deny', comment: string) {
  await go(page, '/approvals');
  const item = page.getByTestId('queue').locator('li').filter({ hasText: group });
  await item.getByLabel(button === 'Approve' ? 'Comment' : 'Why deny (required)').fill(comment);
  await item.getByRole('button', { name: button }).click();
}

test('a quorum-2 group needs two approvers; a denial shows its comment', async ({ page, browser }) => {
  await signInAs(page, /Maya Okafor/, '/admin/policies');
  await savePolicy(page, 'aws-prod-admin', 'engineering', 'tom.becker@northwind.example, nora.lindqvist@northwind.example', '2');
  await savePolicy(page, 'k8s-prod-deployers', '', 'priya.natarajan@northwind.example');

  const aiko = await personPage(browser, /Aiko Tanaka/, '/request');
  await ask(aiko, 'aws-prod-admin', 'rotate the prod keys');
  await expect(aiko.getByTestId('request-sent')).toBeVisible();
  const tom = await personPage(browser, /Tom Becker/, '/approvals');
  await decide(tom, 'aws-prod-admin', 'Approve', 'first of two');
  await expect(tom.getByTestId('decision-recorded')).toContainText('waiting for more approvals');
  const nora = await personPage(browser, /Nora Lindqvist/, '/approvals');
  await expect(nora.getByTestId('queue')).toContainText('Tom Becker approved: first of two');
  await decide(nora, 'aws-prod-admin', 'Approve', 'second');
  await expect(nora.getByTestId('decision-recorded')).toContainText('approved');
  await aiko.goto(`${gatepass()}/access`);
  await expect(aiko.getByTestId('grants').locator('tr[data-group="aws-prod-admin"]')).toContainText('active');

  const omar = await personPage(browser, /Omar Haddad/, '/request');
  await ask(omar, 'k8s-prod-deployers', 'hotfix deploy');
  await expect(omar.getByTestId('request-sent')).toBeVisible();
  const priya = await personPage(browser, /Priya Natarajan/, '/approvals');
  await decide(priya, 'k8s-prod-deployers', 'Deny', 'use the staging pipeline first');
  await expect(priya.getByTestId('decision-recorded')).toContainText('denied');
  await omar.goto(`${gatepass()}/access`);
  const history = omar.getByTestId('history').locator('li[data-state="denied"]');
  await expect(history).toContainText('k8s-prod-deployers');
  await expect(history).toContainText('use the staging pipeline first');
});

test('the same journey works with JavaScript disabled', async ({ page, browser }) => {
  await signInAs(page, /Maya Okafor/, '/admin/policies');
  await savePolicy(page, 'zendesk-admins', '', 'sofia.rossi@northwind.example');

  const noJs = (name: RegExp, path: string) => personPage(browser, name, path, false);
  const ben = await noJs(/Ben Carter/, '/request');
  await ask(ben, 'zendesk-admins', 'customer escalation');
  await ben.goto(`${gatepass()}/access`);
  await expect(ben.getByTestId('pending')).toContainText('zendesk-admins');

  const sofia = await noJs(/Sofia Rossi/, '/approvals');
  await decide(sofia, 'zendesk-admins', 'Approve', 'ok for today');
  await sofia.goto(`${gatepass()}/approvals`);
  await expect(sofia.getByTestId('queue-empty')).toBeVisible();

  await ben.goto(`${gatepass()}/access`);
  const grant = ben.getByTestId('grants').locator('tr[data-group="zendesk-admins"]');
  await expect(grant).toContainText('active');
  // Without JavaScript the server-rendered end time is shown.
  await expect(grant.getByTestId('countdown')).toContainText(/^until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
});
