// Every test page may only talk to this machine: requests elsewhere (web fonts in a provider's
// page, say) are aborted before they leave the browser.
import { test as base } from '@playwright/test';

export const test = base.extend({
  context: async ({ context }, use) => {
    await context.route(/^https?:\/\//, (route) => {
      const host = new URL(route.request().url()).hostname;
      return host === '127.0.0.1' || host === 'localhost' ? route.continue() : route.abort();
    });
    await use(context);
  },
});
export { expect } from '@playwright/test';
