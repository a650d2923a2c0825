// Signing in through the Okta simulator, as in `make demo`: its login page lists the demo
// company's people; pick one, land back in Gatepass signed in; sign out at both ends.
import { test, expect } from './loopback';
import { gatepass, okta, ready, signInAs } from './journey';

test('sign in as a demo person picked on the simulator login page, then sign out', async ({ page }) => {
  await page.goto(`${gatepass()}/approvals`);
  await expect(page).toHaveURL(new RegExp(`^${okta()}/oauth2/default/v1/authorize`));
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Sign in · Okta simulator');
  await page.getByRole('button', { name: /Maya Okafor/ }).click();

  // Back where we started. Maya is a bootstrap admin; the directory is not synced yet.
  await expect(page).toHaveURL(`${gatepass()}/approvals`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Approvals');
  await expect(page.locator('.whoami')).toContainText('Maya Okafor');
  await expect(page.getByTestId('roles')).toHaveText('admin');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(`${gatepass()}/auth/signed-out`);
  await expect(page.getByRole('status')).toContainText('You are signed out of Gatepass.');
});

test('a login the simulator does not know is refused and Gatepass says so', async ({ page }) => {
  await page.goto(`${gatepass()}/access`);
  await page.locator('#login').fill('nobody@northwind.example');
  await page.locator('#sign-in').click();
  await expect(page).toHaveURL(new RegExp(`^${gatepass()}/auth/callback\\?error=access_denied`));
  await expect(page.locator('body')).toContainText('access_denied');
  await page.goto(`${gatepass()}/access`);
  await expect(page).toHaveURL(new RegExp(`^${okta()}/oauth2/default/v1/authorize`));
});

test('an admin tests the Okta connection and sees what Gatepass can do', async ({ page }) => {
  await signInAs(page, /Maya Okafor/, '/admin/okta');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Okta integration');
  // Configured from [okta] at start-up: the simulator, with a local (environment) secret.
  await expect(page.locator('#org_url')).toHaveValue(okta());
  // The org is the operator's choice: the page says which ones the configuration allows.
  await expect(page.getByTestId('allowed-orgs')).toContainText(okta());
  await expect(page.getByTestId('local-secret')).toBeVisible();

  await page.getByRole('button', { name: 'Test connection' }).click();
  const report = page.getByTestId('connection-report');
  await expect(report).toContainText('All checks passed.');
  await expect(page.getByTestId('acts-as')).toHaveText('sam.reyes@northwind.example');
  const manage = page.getByTestId('capabilities').getByRole('row', { name: /Manage group membership/ });
  await expect(manage).toContainText('Yes');
  await expect(manage).toContainText('All OKTA_GROUP groups');
  await expect(page.getByTestId('capabilities').getByRole('row', { name: /Read users/ })).toContainText('Yes');
});

test('a secret pasted instead of a reference is refused, naming the field', async ({ page }) => {
  await signInAs(page, /Maya Okafor/, '/admin/okta');
  await page.locator('#secret_ref').fill('00pasted-token-value');
  await page.getByRole('button', { name: 'Save' }).click();
  const error = page.getByTestId('settings-error');
  await expect(error).toContainText('Secret reference');
  await expect(error).not.toContainText('00pasted-token-value');
  await page.reload();
  await ready(page);
  await expect(page.locator('#secret_ref')).toHaveValue('env:E2E_OKTA_API_TOKEN');
});

test('the sync page lists runs and starts one on request', async ({ page }) => {
  await signInAs(page, /Maya Okafor/, '/admin/sync');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Directory sync');
  // The scheduler synced the simulator's directory at start-up.
  await expect(page.getByTestId('sync-runs').locator('tr[data-status="ok"]').first()).toBeVisible();
  await expect(page.getByTestId('directory-counts')).toContainText('26 users');
  await page.getByRole('button', { name: 'Sync changes' }).click();
  await expect(page.getByTestId('sync-started')).toContainText('incremental sync');
});

test('an admin adds a webhook endpoint, is told what a delivery did, and deletes it', async ({ page }) => {
  await signInAs(page, /Maya Okafor/, '/admin/notifications');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Notifications');
  await expect(page.getByTestId('webhooks-empty')).toBeVisible();

  await page.getByRole('button', { name: 'Make a new secret' }).click();
  await expect(page.getByTestId('new-webhook-secret')).toHaveText(/^whsec_[A-Za-z0-9+/=]{44}$/);

  await page.locator('#webhook-name').fill('siem');
  await page.locator('#webhook-url').fill('http://10.0.0.1/hook');
  await page.locator('#webhook-secret').fill('env:E2E_WEBHOOK_SECRET');
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await expect(page.locator('.form-error')).toContainText('URL');
  await expect(page.locator('.form-error')).toContainText('https://');

  // Port 9 on loopback: nothing listens there, so the test delivery says it could not connect.
  await page.locator('#webhook-url').fill('http://127.0.0.1:9/hook');
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await expect(page.getByTestId('webhook-added')).toHaveText('Added siem.');
  const row = page.getByTestId('webhooks').locator('tr[data-name="siem"]');
  await expect(row).toContainText('env:E2E_WEBHOOK_SECRET');
  await expect(row).toContainText('every event');
  await expect(page.locator('body')).not.toContainText('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');

  await row.getByRole('button', { name: 'Send a test event to siem' }).click();
  await expect(page.getByTestId('webhook-tested-refused')).toContainText('could not connect');

  await row.getByRole('button', { name: 'Delete siem' }).click();
  await expect(page.getByTestId('webhook-deleted')).toBeVisible();
  await expect(page.getByTestId('webhooks-empty')).toBeVisible();
});

test('anyone chooses which email and Slack messages they get, and it stays chosen', async ({ page }) => {
  await signInAs(page, /Jonas Berg/, '/settings/notifications');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Notifications');
  // This test server sends email (to the simulator's mail catcher) and posts to Slack.
  await expect(page.getByTestId('email-address')).toHaveText('jonas.berg@northwind.example');
  await expect(page.getByTestId('email-off')).toHaveCount(0);
  await expect(page.getByTestId('slack-off')).toHaveCount(0);
  const decisions = page.locator('#kind-decisions');
  await expect(decisions).toBeChecked();
  await decisions.uncheck();
  await page.locator('#slack-reminders').uncheck();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('notifications-saved')).toHaveText('Saved.');
  await page.reload();
  await ready(page);
  await expect(page.locator('#kind-decisions')).not.toBeChecked();
  await expect(page.locator('#kind-access')).toBeChecked();
  await expect(page.locator('#slack-reminders')).not.toBeChecked();
  await expect(page.locator('#slack-decisions')).toBeChecked();
});

test('someone who is not an admin gets 403 on the integration pages', async ({ page }) => {
  await signInAs(page, /Jonas Berg/, '/admin/okta');
  await expect(page.getByRole('heading', { level: 2 })).toHaveText('Not allowed');
  const response = await page.goto(`${gatepass()}/admin/okta`);
  expect(response?.status()).toBe(403);
  const notifications = await page.goto(`${gatepass()}/admin/notifications`);
  expect(notifications?.status()).toBe(403);
});
