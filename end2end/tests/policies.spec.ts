// Richer policies in the browser, on the demo org: an admin allows break-glass on a group and
// previews who may request it; an engineer activates emergency access without approval (the
// membership is in Okta at once, the admins see the banner); the approver confirms afterwards
// that it was justified. Bundles and Okta apps are requested, granted and given back.
import { test, expect } from './loopback';
import { go, okta, personPage, ready, signInAs } from './journey';

const GROUP = 'github-org-owners';

test('break-glass: activated without approval, alerted, reviewed afterwards', async ({ page, browser }) => {
  await signInAs(page, /Maya Okafor/, '/admin/policies');
  await page.locator('#applies_to').fill(GROUP);
  await page.locator('#eligible_groups').fill('engineering');
  await page.locator('#approver_users').fill('tom.becker@northwind.example');
  await page.locator('#break_glass_max').fill('1h');
  await page.locator('#break_glass_per_day').fill('1');
  // A bad window names its field and saves nothing.
  await page.locator('#request_window').fill('Mon-Fri 09:00-18:00 Mars/Olympus');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByTestId('policy-error')).toContainText('Request window');
  await page.locator('#request_window').fill('');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByTestId('policy-saved')).toBeVisible();
  await expect(page.getByTestId('policies')).toContainText('break-glass up to 1h');

  // The preview says what a request would meet: Lena may ask, Tom approves.
  await page.locator('#preview-person').fill('lena.fischer@northwind.example');
  await page.locator('#preview-group').fill(GROUP);
  await page.getByRole('button', { name: 'Preview' }).click();
  await expect(page.getByTestId('preview')).toContainText('may request github-org-owners');
  await expect(page.getByTestId('preview-approvers')).toContainText('Tom Becker');
  // Grace (finance) may not: the preview names the rule.
  await page.locator('#preview-person').fill('grace.kim@northwind.example');
  await page.getByRole('button', { name: 'Preview' }).click();
  await expect(page.getByTestId('preview')).toContainText('may not request');
  await expect(page.locator('tr[data-rule="Who may request"]')).toContainText('refuses');

  // Lena activates emergency access.
  const lena = await personPage(browser, /Lena Fischer/, `/request/${await groupId(page)}`);
  await ready(lena);
  await lena.locator('#emergency-reason').fill('production deploys are blocked, incident 512');
  await lena.getByTestId('break-glass').click();
  await expect(lena.getByTestId('emergency-active')).toContainText('Emergency access active');

  // The membership is in Okta at once.
  await expect.poll(() => members(page), { timeout: 5000 }).toContain('lena.fischer@northwind.example');
  await go(lena, '/access');
  await expect(lena.getByTestId('grants').locator(`tr[data-group="${GROUP}"]`).getByTestId('emergency-badge')).toBeVisible();

  // The admins see it on their banner.
  await go(page, '/admin');
  await expect(page.getByTestId('alert-emergencies')).toContainText('1 active now, 1 waiting for review');

  // Tom confirms it was justified; the banner no longer counts it as waiting.
  const tom = await personPage(browser, /Tom Becker/, '/approvals');
  const item = tom.getByTestId('emergencies').locator('li').filter({ hasText: GROUP });
  await expect(item).toContainText('Lena Fischer');
  await expect(item).toContainText('incident 512');
  await item.getByLabel('Comment').fill('incident 512 was real');
  await item.getByRole('button', { name: 'Justified' }).click();
  await expect(tom.getByTestId('emergency-reviewed')).toContainText('justified');
  await go(page, '/admin');
  await expect(page.getByTestId('alert-emergencies')).toContainText('0 waiting for review');
});

test('on call: the person PagerDuty has on call is approved at once, others wait', async ({ page, browser }) => {
  await signInAs(page, /Maya Okafor/, '/admin/policies');
  await page.locator('#applies_to').fill('payroll-access');
  await page.locator('#approver_users').fill('grace.kim@northwind.example');
  await page.locator('#on_call_schedule').fill('PDEMO01');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByTestId('policy-saved')).toBeVisible();
  await expect(page.getByTestId('policies')).toContainText('on call for PDEMO01');

  // Lena is on call for the demo's schedule: approved at once.
  const lena = await personPage(browser, /Lena Fischer/, '/request?q=payroll-access');
  await lena.getByTestId('catalog').locator('li[data-group="payroll-access"]').getByRole('link', { name: 'Request' }).click();
  await ready(lena);
  await lena.locator('#reason').fill('pager: payroll batch failed');
  await lena.getByRole('button', { name: 'Send request' }).click();
  await expect(lena.getByTestId('request-sent')).toContainText('approved at once');

  // Jonas is not on call: his request waits for Grace.
  const jonas = await personPage(browser, /Jonas Berg/, '/request?q=payroll-access');
  await jonas.getByTestId('catalog').locator('li[data-group="payroll-access"]').getByRole('link', { name: 'Request' }).click();
  await ready(jonas);
  await jonas.locator('#reason').fill('curious');
  await jonas.getByRole('button', { name: 'Send request' }).click();
  await expect(jonas.getByTestId('request-sent')).toContainText('waiting for approval');
});

test('a bundle: one request, one approval, three memberships, one give-back', async ({ page, browser }) => {
  const groups = ['netsuite-approvers', 'people-ops', 'sales'];
  await signInAs(page, /Maya Okafor/, '/admin/policies');
  await page.locator('#bundle-name').fill('release-crew');
  await page.locator('#bundle-description').fill('what a release needs');
  await page.locator('#bundle-groups').fill(groups.join(', '));
  await page.getByRole('button', { name: 'Save bundle' }).click();
  await expect(page.getByTestId('bundle-saved')).toContainText('release-crew');
  await page.locator('#applies_to').fill('bundle:release-crew');
  await page.locator('#approver_users').fill('priya.natarajan@northwind.example');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByTestId('policy-saved')).toBeVisible();
  await expect(page.getByTestId('policies')).toContainText('bundle:release-crew');

  // Omar asks for the bundle once.
  const omar = await personPage(browser, /Omar Haddad/, '/request');
  const entry = omar.getByTestId('bundles').locator('li[data-bundle="release-crew"]');
  await expect(entry).toContainText('3 groups');
  await entry.getByRole('link', { name: 'Request' }).click();
  await ready(omar);
  await expect(omar.getByTestId('bundle-groups')).toContainText('people-ops');
  await omar.locator('#reason').fill('release 42');
  await omar.getByRole('button', { name: 'Send request' }).click();
  await expect(omar.getByTestId('request-sent')).toContainText('waiting for approval');

  // Priya sees one item and approves it once.
  const priya = await personPage(browser, /Priya Natarajan/, '/approvals');
  const item = priya.getByTestId('queue').locator('li').filter({ hasText: 'release-crew' });
  await expect(item.getByTestId('bundle')).toContainText('netsuite-approvers, people-ops, sales');
  await item.getByLabel('Comment').fill('ship it');
  await item.getByRole('button', { name: 'Approve' }).click();
  await expect(priya.getByTestId('decision-recorded')).toContainText('approved');

  // Three memberships in Okta.
  for (const g of groups) {
    await expect.poll(() => membersOf(page, g), { timeout: 5000 }).toContain('omar.haddad@northwind.example');
  }
  // My access shows the bundle as one row; one give-back removes all three.
  await go(omar, '/access');
  const row = omar.getByTestId('grants').locator('tr[data-bundle="release-crew"]');
  await expect(row.getByTestId('bundle-groups')).toContainText('netsuite-approvers');
  await row.getByRole('button', { name: 'Give back the bundle' }).click();
  for (const g of groups) {
    await expect.poll(() => membersOf(page, g), { timeout: 5000 }).not.toContain('omar.haddad@northwind.example');
  }
});

test('an Okta app: requested, approved, assigned in Okta, given back and unassigned', async ({ page, browser }) => {
  const APP = 'AWS Console — Production';
  await signInAs(page, /Maya Okafor/, '/admin/policies');
  await page.locator('#applies_to').fill(`app:${APP}`);
  await page.locator('#approver_users').fill('priya.natarajan@northwind.example');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByTestId('policy-saved')).toBeVisible();
  await expect(page.getByTestId('policies')).toContainText(`app:${APP}`);
  // An app label nobody has names the field.
  await page.locator('#applies_to').fill('app:Nothing Like It');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByTestId('policy-error')).toContainText('no Okta app labelled');

  // Omar finds the app in the catalog, marked as one, and asks for it.
  const omar = await personPage(browser, /Omar Haddad/, '/request');
  const entry = omar.locator(`li[data-group="${APP}"]`);
  await expect(entry.getByTestId('app-badge')).toBeVisible();
  await entry.getByRole('link', { name: 'Request' }).click();
  await ready(omar);
  await omar.locator('#reason').fill('cost report');
  await omar.getByRole('button', { name: 'Send request' }).click();
  await expect(omar.getByTestId('request-sent')).toContainText('waiting for approval');

  // The start page: Omar sees his request waiting; Priya sees she approves and has requests to
  // decide.
  await go(omar, '/');
  await expect(omar.getByTestId('my-pending')).toContainText(APP);
  const priya = await personPage(browser, /Priya Natarajan/, '/');
  await expect(priya.getByTestId('approver-of')).toContainText(/approver of \d+ groups?/);
  await expect(priya.getByTestId('to-decide')).toContainText(/\d+ requests? wait for your decision/);

  // Priya approves: Okta assigns Omar to the app directly.
  await go(priya, '/approvals');
  const item = priya.getByTestId('queue').locator('li').filter({ hasText: APP });
  await item.getByLabel('Comment').fill('ok');
  await item.getByRole('button', { name: 'Approve' }).click();
  await expect(priya.getByTestId('decision-recorded')).toContainText('approved');
  await expect.poll(() => appUsers(page, APP), { timeout: 5000 }).toContain('omar.haddad@northwind.example:USER');

  // His start page shows what he holds; My access shows it as an app; giving it back unassigns
  // him.
  await go(omar, '/');
  await expect(omar.getByTestId('my-grants')).toContainText(APP);
  await go(omar, '/access');
  const row = omar.getByTestId('grants').locator(`tr[data-group="${APP}"]`);
  await expect(row.getByTestId('app-badge')).toBeVisible();
  await row.getByRole('button', { name: 'Give back now' }).click();
  await expect.poll(() => appUsers(page, APP), { timeout: 5000 }).not.toContain('omar.haddad@northwind.example:USER');
});

/** Who Okta (the simulator) assigns to the app labelled `label`, as `login:scope`. */
async function appUsers(page: import('@playwright/test').Page, label: string): Promise<string[]> {
  const apps = await (await page.request.get(`${okta()}/api/v1/apps?limit=200`, { headers: AUTH })).json();
  const id = apps.find((a: { label: string }) => a.label === label).id;
  const res = await page.request.get(`${okta()}/api/v1/apps/${id}/users`, { headers: AUTH });
  return (await res.json()).map((u: { credentials: { userName: string }; scope: string }) => `${u.credentials.userName}:${u.scope}`);
}

async function membersOf(page: import('@playwright/test').Page, name: string): Promise<string[]> {
  const found = await (await page.request.get(`${okta()}/api/v1/groups?q=${name}`, { headers: AUTH })).json();
  const id = found.find((g: { profile: { name: string } }) => g.profile.name === name).id;
  const res = await page.request.get(`${okta()}/api/v1/groups/${id}/users`, { headers: AUTH });
  return (await res.json()).map((u: { profile: { login: string } }) => u.profile.login);
}

async function groupId(page: import('@playwright/test').Page): Promise<string> {
  const groups = await (await page.request.get(`${okta()}/api/v1/groups?q=${GROUP}`, { headers: AUTH })).json();
  return groups[0].id;
}

const AUTH = { Authorization: 'SSWS e2e-api-token' };

async function members(page: import('@playwright/test').Page): Promise<string[]> {
  const id = await groupId(page);
  const res = await page.request.get(`${okta()}/api/v1/groups/${id}/users`, { headers: AUTH });
  return (await res.json()).map((u: { profile: { login: string } }) => u.profile.login);
}
