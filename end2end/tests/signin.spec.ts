// The sign-in journey in a real browser: Gatepass → a certified OpenID provider → back signed
// in; then sign-out, at Gatepass and at the provider.
import { test, expect } from './loopback';

const gatepass = () => process.env.E2E_SIGNIN_URL!;
const issuer = () => process.env.E2E_ISSUER!;

test('sign in, see who you are, sign out', async ({ page }) => {
  // An anonymous page load goes to the provider's login page.
  await page.goto(`${gatepass()}/approvals`);
  await expect(page).toHaveURL(new RegExp(`^${issuer()}/interaction/`));
  await page.locator('input[name="login"]').fill('alice');
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();

  // Back where we started, signed in. Alice is a bootstrap admin, not yet in the directory.
  await expect(page).toHaveURL(`${gatepass()}/approvals`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Approvals');
  await expect(page.locator('.whoami')).toContainText('Test alice');
  await expect(page.getByTestId('roles')).toHaveText('admin');
  await expect(page.getByTestId('not-in-directory')).toContainText('alice@example.com');

  // Sign out: Gatepass ends its session, the provider asks to end its own.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(new RegExp(`^${issuer()}/session/end`));
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await expect(page).toHaveURL(`${gatepass()}/auth/signed-out`);
  await expect(page.getByRole('status')).toContainText('You are signed out of Gatepass.');

  // Signed out for real: the next page load asks to sign in again.
  await page.goto(`${gatepass()}/access`);
  await expect(page).toHaveURL(new RegExp(`^${issuer()}/interaction/`));
});
