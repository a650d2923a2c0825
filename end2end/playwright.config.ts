// Playwright drives Debian's Chromium (/usr/bin/chromium) against the real `gatepass` binary.
// `make e2e` (part of `make test`) builds the site and the binary, picks a free loopback port
// and a fresh data directory, and passes them in the environment below.
import { defineConfig } from '@playwright/test';

const port = Number(process.env.E2E_PORT ?? '0');
const bin = process.env.E2E_BIN ?? '';
const dataDir = process.env.E2E_DATA_DIR ?? '';
if (!port || !bin || !dataDir) {
  throw new Error('run through `make e2e`: E2E_PORT, E2E_BIN and E2E_DATA_DIR are required');
}
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: `${bin} serve --listen 127.0.0.1:${port}`,
    url: `${baseURL}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      GATEPASS_DATA_DIR: dataDir,
      GATEPASS_SITE_ROOT: process.env.GATEPASS_SITE_ROOT ?? '../target/site',
      RUST_LOG: 'warn',
    },
  },
});
