// The app shell: complete server-rendered HTML without JavaScript, and working hydration with it.
import { test, expect } from './loopback';

const navNames = ['My access', 'Request access', 'Approvals', 'Admin'];

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the start page is complete server-rendered HTML', async ({ page }) => {
    const response = await page.goto('/');
    expect(response?.status()).toBe(200);
    await expect(page).toHaveTitle('Gatepass');
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const name of navNames) {
      await expect(nav.getByRole('link', { name })).toBeVisible();
    }
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Just-in-time access to Okta groups');
    // Anonymous visitors learn that Gatepass is up, nothing about its database or directory.
    await expect(page.getByTestId('up')).toContainText('Up');
    await expect(page.getByTestId('db-engine')).toHaveCount(0);
    await expect(page.getByTestId('system-status')).not.toContainText('users');
    await expect(page.getByTestId('checked-at')).toHaveAttribute('datetime', /^\d{4}-\d\d-\d\dT/);
  });

  test('the refresh button still works, as a page reload', async ({ page }) => {
    await page.goto('/');
    const before = await page.getByTestId('checked-at').getAttribute('datetime');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.waitForLoadState('load');
    await expect(page.getByTestId('checked-at')).not.toHaveAttribute('datetime', before!);
  });

  test('an unknown path is a real 404 page', async ({ page }) => {
    const response = await page.goto('/no/such/page');
    expect(response?.status()).toBe(404);
    await expect(page).toHaveTitle('Not found · Gatepass');
    await expect(page.getByRole('alert')).toContainText('This page was not found.');
  });

  test('pages that need a person say so with 401', async ({ page }) => {
    const response = await page.goto('/access');
    expect(response?.status()).toBe(401);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('My access');
    await expect(page.getByRole('alert')).toContainText('Sign in to continue.');
  });
});

test.describe('with JavaScript', () => {
  test('hydrates: refresh updates the panel without a page load', async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    const wasm = page.waitForResponse((r) => r.url().endsWith('/pkg/gatepass_bg.wasm'));
    await page.goto('/');
    expect((await wasm).status()).toBe(200);
    // Wait until the hydrated app has attached its handlers.
    await page.waitForFunction(() => (window as any).__gatepassHydrated === true);

    await page.evaluate(() => { (window as any).__sameDocument = true; });
    const before = await page.getByTestId('checked-at').getAttribute('datetime');
    const call = page.waitForResponse((r) => r.url().endsWith('/api/system/status'));
    await page.getByRole('button', { name: 'Refresh' }).click();
    expect((await call).status()).toBe(200);
    await expect(page.getByTestId('checked-at')).not.toHaveAttribute('datetime', before!);
    // Same document: the click was handled by the hydrated app, not by a form submission.
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
    expect(errors).toEqual([]);
  });

  test('client-side navigation reaches another page without reload', async ({ page }) => {
    await page.goto('/');
    await page.waitForFunction(() => (window as any).__gatepassHydrated === true);
    await page.evaluate(() => { (window as any).__sameDocument = true; });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Approvals' }).click();
    await expect(page).toHaveURL(/\/approvals$/);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Approvals');
    await expect(page.getByRole('link', { name: 'Approvals' })).toHaveAttribute('aria-current', 'page');
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  });
});
