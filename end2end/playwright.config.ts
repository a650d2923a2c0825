// Playwright drives Debian's Chromium (/usr/bin/chromium) against the real `gatepass` binary.
// `make e2e` (part of `make test`) builds the site and the binary, picks free loopback ports and
// a fresh data directory, and passes them in the environment below. Five servers run:
//   - Gatepass without sign-in configured (the shell tests),
//   - panva oidc-provider (a certified OpenID provider),
//   - Gatepass signing in at that provider (the sign-in journey),
//   - the Okta simulator (`gatepass okta-sim --seed demo`) and Gatepass signing in through it,
//     as `make demo` does.
import { defineConfig } from '@playwright/test';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`run through \`make e2e\`: ${name} is required`);
  return value;
};
const bin = env('E2E_BIN');
const dataDir = env('E2E_DATA_DIR');
const port = Number(env('E2E_PORT'));
const oidcPort = Number(env('E2E_OIDC_PORT'));
const signinPort = Number(env('E2E_SIGNIN_PORT'));
const oktaPort = Number(env('E2E_OKTA_PORT'));
const simSigninPort = Number(env('E2E_SIM_SIGNIN_PORT'));
const smtpPort = Number(env('E2E_SMTP_PORT'));
const siteRoot = process.env.GATEPASS_SITE_ROOT ?? '../target/site';
const baseURL = `http://127.0.0.1:${port}`;
const issuer = `http://127.0.0.1:${oidcPort}`;
const signinURL = `http://127.0.0.1:${signinPort}`;
process.env.E2E_SIGNIN_URL = signinURL;
process.env.E2E_ISSUER = issuer;
const oktaURL = `http://127.0.0.1:${oktaPort}`;
const simSigninURL = `http://127.0.0.1:${simSigninPort}`;
process.env.E2E_OKTA_URL = oktaURL;
process.env.E2E_SIM_SIGNIN_URL = simSigninURL;

const gatepassEnv = (dir: string) => ({
  GATEPASS_DATA_DIR: `${dataDir}/${dir}`,
  GATEPASS_SITE_ROOT: siteRoot,
  // Every journey signs in from this one address, more often than a person would.
  GATEPASS_SESSION__SIGN_IN_STARTS_PER_MINUTE: '600',
  RUST_LOG: 'warn',
});

export default defineConfig({
  testDir: './tests',
  // Per test. The pages load the release bundle (`make e2e` builds it). The longest journey,
  // the quorum one (six people sign in), took 12.6–19.0 s on this kind of machine (2 cores)
  // while other builds kept it busy; 40 s leaves twice the worst. The one-minute grant's
  // journey sets its own.
  timeout: 40_000,
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
  webServer: [
    {
      command: `${bin} serve --listen 127.0.0.1:${port}`,
      url: `${baseURL}/readyz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe',
      env: gatepassEnv('plain'),
    },
    {
      command: 'node oidc-provider/server.mjs',
      url: `${issuer}/.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'ignore',
      stderr: 'ignore',
      env: {
        OIDC_PORT: String(oidcPort),
        OIDC_REDIRECT_URIS: `${signinURL}/auth/callback`,
        OIDC_POST_LOGOUT_REDIRECT_URIS: `${signinURL}/auth/signed-out`,
        NODE_NO_WARNINGS: '1',
      },
    },
    {
      command: `${bin} serve --listen 127.0.0.1:${signinPort}`,
      url: `${signinURL}/readyz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe',
      env: {
        ...gatepassEnv('signin'),
        GATEPASS_OIDC__ISSUER_URL: issuer,
        GATEPASS_OIDC__CLIENT_ID: 'gatepass',
        GATEPASS_OIDC__CLIENT_SECRET: 'gatepass-test-secret',
        // The provider's `sub` for the login `alice`: bootstrap admins are Okta ids or logins
        // the directory vouches for, never an email claim.
        GATEPASS_AUTH__BOOTSTRAP_ADMINS: '["alice"]',
      },
    },
    {
      // With its mail catcher and Slack stand-in (default bot token and signing secret), as in
      // `make demo`.
      command: `${bin} okta-sim --listen 127.0.0.1:${oktaPort} --seed demo --api-token e2e-api-token --gatepass-url ${simSigninURL} --smtp-listen 127.0.0.1:${smtpPort}`,
      url: `${oktaURL}/oauth2/default/.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe',
      env: { OKTA_SIM_OIDC_CLIENT_SECRET: 'e2e-sim-secret', RUST_LOG: 'warn' },
    },
    {
      command: `${bin} serve --listen 127.0.0.1:${simSigninPort}`,
      url: `${simSigninURL}/readyz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe',
      env: {
        ...gatepassEnv('sim-signin'),
        GATEPASS_PUBLIC_URL: simSigninURL,
        GATEPASS_OIDC__ISSUER_URL: `${oktaURL}/oauth2/default`,
        GATEPASS_OIDC__CLIENT_ID: 'gatepass',
        GATEPASS_OIDC__CLIENT_SECRET: 'e2e-sim-secret',
        GATEPASS_AUTH__BOOTSTRAP_ADMINS: '["maya.okafor@northwind.example"]',
        GATEPASS_OKTA__ORG_URL: oktaURL,
        GATEPASS_OKTA__SECRET_REF: 'env:E2E_OKTA_API_TOKEN',
        E2E_OKTA_API_TOKEN: 'e2e-api-token',
        GATEPASS_NOTIFICATIONS__ALLOWED_SECRET_REFS:
          '["env:E2E_WEBHOOK_SECRET", "env:E2E_SLACK_TOKEN", "env:E2E_SLACK_SIGNING"]',
        E2E_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        // Email to the simulator's mail catcher, Slack to its stand-in (connected at start-up).
        GATEPASS_NOTIFICATIONS__EMAIL__SMTP_HOST: '127.0.0.1',
        GATEPASS_NOTIFICATIONS__EMAIL__SMTP_PORT: String(smtpPort),
        GATEPASS_NOTIFICATIONS__EMAIL__SECURITY: 'none',
        GATEPASS_NOTIFICATIONS__EMAIL__FROM: 'gatepass@northwind.example',
        GATEPASS_NOTIFICATIONS__SLACK__API_URL: `${oktaURL}/slack/api/`,
        GATEPASS_NOTIFICATIONS__SLACK__BOT_TOKEN_REF: 'env:E2E_SLACK_TOKEN',
        GATEPASS_NOTIFICATIONS__SLACK__SIGNING_SECRET_REF: 'env:E2E_SLACK_SIGNING',
        E2E_SLACK_TOKEN: 'xoxb-gatepass-demo',
        E2E_SLACK_SIGNING: '8f742231b10e8888abcd99yyyzzz85a5',
        // A reminder 90 s before a grant ends (the Slack journey's two-minute grant gets one).
        GATEPASS_NOTIFICATIONS__EXPIRY_REMINDERS: '["90s"]',
        // On-call approval against the simulator's PagerDuty stand-in (Lena is on call).
        GATEPASS_PAGERDUTY__API_URL: `${oktaURL}/pagerduty`,
        GATEPASS_PAGERDUTY__API_KEY_REF: 'env:E2E_PAGERDUTY_KEY',
        E2E_PAGERDUTY_KEY: 'pd-demo-key-for-the-local-simulator',
      },
    },
  ],
});
