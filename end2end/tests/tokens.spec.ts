// Settings › API tokens in the browser: a requester makes a token (shown once), uses it on the
// REST API, sees when it was last used, and revokes it; the next call with it is refused.
// Revoking works without JavaScript too; administrators see everyone's tokens.
import { test, expect } from './loopback';
import { gatepass, go, personPage, signInAs } from './journey';

test('make a token, call the API with it, revoke it', async ({ page, browser }) => {
  await signInAs(page, /Diego Alvarez/, '/settings/tokens');
  await expect(page.getByTestId('no-tokens')).toBeVisible();
  // A requester cannot give a token more than their role.
  await expect(page.locator('#scope-admin')).toHaveCount(0);

  // No name: the form says so and nothing is made.
  await page.locator('#token-name').fill('   ');
  await page.getByRole('button', { name: 'Make token' }).click();
  await expect(page.getByRole('alert')).toContainText('Name');

  await page.locator('#token-name').fill('laptop');
  await page.locator('#scope-request').check();
  await page.getByRole('button', { name: 'Make token' }).click();
  const token = (await page.getByTestId('token-value').textContent())!.trim();
  expect(token).toMatch(/^gpat_[A-Za-z0-9]{40}$/);
  const row = page.getByTestId('token-row').filter({ hasText: 'laptop' });
  await expect(row).toContainText('read, request');
  await expect(row).toContainText('never');

  const whoami = () =>
    page.request.get(`${gatepass()}/api/v1/whoami`, { headers: { Authorization: `Bearer ${token}` } });
  const res = await whoami();
  expect(res.status()).toBe(200);
  expect((await res.json()).login).toBe('diego.alvarez@northwind.example');

  // Shown once: a fresh load lists it without the token, with its last use.
  await go(page, '/settings/tokens');
  await expect(page.getByTestId('token-value')).toHaveCount(0);
  expect(await page.content()).not.toContain(token);
  await expect(page.getByTestId('token-row').filter({ hasText: 'laptop' })).toContainText('from 127.0.0.1');

  // Revoked from a page without JavaScript: the next call is refused.
  const plain = await personPage(browser, /Diego Alvarez/, '/settings/tokens', false);
  await plain.getByTestId('token-row').filter({ hasText: 'laptop' }).getByRole('button', { name: 'Revoke' }).click();
  await expect(plain.getByTestId('token-row').filter({ hasText: 'laptop' })).toContainText('revoked');
  const refused = await whoami();
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error.code).toBe('token_revoked');

  // An administrator sees everyone's tokens (Diego's, revoked); Diego does not see that list.
  await expect(page.getByTestId('all-tokens')).toHaveCount(0);
  const maya = await personPage(browser, /Maya Okafor/, '/settings/tokens');
  await expect(maya.locator('#scope-admin')).toHaveCount(1);
  const theirs = maya.getByTestId('all-tokens').getByTestId('token-row').filter({ hasText: 'diego.alvarez' });
  await expect(theirs).toContainText('laptop');
  await expect(theirs).toContainText('revoked');

  // Diego has no service token form; Maya makes a service token for a CI job, shown once.
  await expect(page.locator('#service-name')).toHaveCount(0);
  await maya.locator('#service-name').fill('policies-ci');
  await maya.getByRole('button', { name: 'Make service token' }).click();
  const service = (await maya.getByTestId('service-token-value').textContent())!.trim();
  expect(service).toMatch(/^gpst_[A-Za-z0-9]{40}$/);
  await expect(maya.getByTestId('all-tokens').getByTestId('token-row').filter({ hasText: 'service:policies-ci' })).toContainText('admin');
  const asService = await maya.request.get(`${gatepass()}/api/v1/whoami`, { headers: { Authorization: `Bearer ${service}` } });
  expect(asService.status()).toBe(200);
  expect((await asService.json()).login).toBe('service:policies-ci');
});
