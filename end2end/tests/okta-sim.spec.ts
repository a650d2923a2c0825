// Signing in through the Okta simulator, as in `make demo`: its login page lists the demo
// company's people; pick one, land back in Gatepass signed in; sign out at both ends.
import { test, expect } from './loopback';

const gatepass = () => process.env.E2E_SIM_SIGNIN_URL!;
const okta = () => process.env.E2E_OKTA_URL!;

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
