// Approving from Slack, in the browser, on the demo org: a requester asks in Gatepass; the
// approver finds the request card in the Slack stand-in (the simulator's `/__slack`, where its
// buttons send Gatepass interactions signed as Slack signs them) and approves it there; the card
// changes, the membership appears in Okta, the requester's email says so. A two-minute grant
// gets its "ends soon" message in Slack, whose Extend link opens the extension form.
import { test, expect } from './loopback';
import type { Page } from '@playwright/test';
import { gatepass, go, okta, personPage, ready, signInAs } from './journey';

/// Opens the stand-in as the person whose login contains `who`.
async function slackAs(page: Page, who: string) {
  await page.goto(`${okta()}/__slack`);
  const id = await page.locator('select[name="as"] option', { hasText: who }).first().getAttribute('value');
  expect(id).toBeTruthy();
  await page.goto(`${okta()}/__slack?as=${id}`);
}

async function ask(page: Page, group: string, duration: string, reason: string) {
  await go(page, `/request?q=${encodeURIComponent(group)}`);
  await page.getByTestId('catalog').locator(`li[data-group="${group}"]`).getByRole('link', { name: 'Request' }).click();
  await ready(page);
  await page.locator('#duration').fill(duration);
  await page.locator('#reason').fill(reason);
  await page.getByRole('button', { name: 'Send request' }).click();
  await expect(page.getByTestId('request-sent')).toContainText('waiting for approval');
}

test('approve from Slack: the card changes, Okta has the member, email tells the requester; Extend from the reminder', async ({ page, browser }) => {
  test.setTimeout(180_000);
  await signInAs(page, /Maya Okafor/, '/admin/notifications');
  await expect(page.getByTestId('slack-status')).toContainText('Connected');
  for (const group of ['aws-staging-admin', 'salesforce-admins']) {
    await go(page, '/admin/policies');
    await page.locator('#applies_to').fill(group);
    await page.locator('#approver_users').fill('lena.fischer@northwind.example');
    await page.locator('#default_duration').fill('1h');
    await page.locator('#max_duration').fill('4h');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await expect(page.getByTestId('policy-saved')).toBeVisible();
  }

  // Nora asks in Gatepass.
  const nora = await personPage(browser, /Nora Lindqvist/, '/request');
  await ask(nora, 'aws-staging-admin', '1h', 'rotate the staging keys');

  // Lena approves in Slack.
  const slack = await browser.newPage();
  await slackAs(slack, 'lena.fischer');
  const card = slack.locator('.msg').filter({ hasText: 'aws-staging-admin' }).first();
  await expect(card).toContainText('Nora Lindqvist');
  await expect(card).toContainText('rotate the staging keys');
  await card.getByRole('button', { name: 'Approve' }).click();
  await expect(slack.locator('body')).toContainText('Your last action');
  // The card is updated for everyone: who approved, no buttons.
  await expect.poll(async () => {
    await slackAs(slack, 'lena.fischer');
    return slack.locator('.msg').filter({ hasText: 'aws-staging-admin' }).first().innerText();
  }, { timeout: 15_000 }).toContain('Approved');
  await expect(slack.locator('.msg').filter({ hasText: 'aws-staging-admin' }).first().getByRole('button', { name: 'Approve' })).toHaveCount(0);

  // Okta has the membership.
  const auth = { Authorization: 'SSWS e2e-api-token' };
  const groups = await (await page.request.get(`${okta()}/api/v1/groups?q=aws-staging-admin`, { headers: auth })).json();
  const members = async () => {
    const res = await page.request.get(`${okta()}/api/v1/groups/${groups[0].id}/users`, { headers: auth });
    return (await res.json()).map((u: { profile: { login: string } }) => u.profile.login);
  };
  await expect.poll(members, { timeout: 10_000 }).toContain('nora.lindqvist@northwind.example');
  // Nora's email says so.
  const mails = async () => {
    const inbox = await (await page.request.get(`${okta()}/__inbox/messages`)).json();
    return inbox.mails
      .filter((m: { rcpt_to: string[] }) => m.rcpt_to.includes('nora.lindqvist@northwind.example'))
      .map((m: { subject: string }) => m.subject);
  };
  await expect.poll(mails, { timeout: 15_000 }).toContainEqual(expect.stringContaining('Approved: aws-staging-admin'));
  await go(nora, '/access');
  await expect(nora.getByTestId('grants').locator('tr[data-group="aws-staging-admin"]')).toContainText('active');

  // A two-minute grant: Lena approves it in Slack; 90 s before its end Nora is told in Slack,
  // with an Extend link to the extension form.
  await ask(nora, 'salesforce-admins', '2m', 'quarter-end report');
  await slackAs(slack, 'lena.fischer');
  await slack.locator('.msg').filter({ hasText: 'salesforce-admins' }).first().getByRole('button', { name: 'Approve' }).click();
  await expect(slack.locator('body')).toContainText('Your last action');
  const noraSlack = await browser.newPage();
  const reminder = noraSlack.locator('.msg').filter({ hasText: 'Your access to salesforce-admins ends in' }).first();
  await expect.poll(async () => {
    await slackAs(noraSlack, 'nora.lindqvist');
    return reminder.count();
  }, { timeout: 90_000, intervals: [2_000] }).toBe(1);
  const extend = reminder.getByRole('link', { name: 'Extend' });
  const href = await extend.getAttribute('href');
  expect(href).toMatch(new RegExp(`^${gatepass()}/request/`));
  await nora.goto(href!);
  await ready(nora);
  await expect(nora.locator('body')).toContainText('this request extends it');
});
