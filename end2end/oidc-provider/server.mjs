// A certified OpenID Provider (panva/oidc-provider) for Gatepass's sign-in tests.
//
//   node end2end/oidc-provider/server.mjs
//
// Environment: OIDC_REDIRECT_URIS (comma-separated, required), OIDC_CLIENT_ID (default
// "gatepass"), OIDC_CLIENT_SECRET (default "gatepass-test-secret"), OIDC_PORT (default 0 = any
// free port). Listens on 127.0.0.1 only and prints one line, `issuer=<url>`, once ready.
// Accounts: any login typed at the dev login page signs in; the account id becomes `sub`, and
// `<login>@example.com` the email (a login containing "@" is used as the email as is).
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const redirectUris = (process.env.OIDC_REDIRECT_URIS ?? '').split(',').filter(Boolean);
if (redirectUris.length === 0) {
  console.error('OIDC_REDIRECT_URIS is required');
  process.exit(2);
}
const postLogoutRedirectUris = (process.env.OIDC_POST_LOGOUT_REDIRECT_URIS ?? '').split(',').filter(Boolean);

const server = createServer();
await new Promise((resolve) => server.listen(Number(process.env.OIDC_PORT ?? 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.OIDC_CLIENT_ID ?? 'gatepass',
      client_secret: process.env.OIDC_CLIENT_SECRET ?? 'gatepass-test-secret',
      redirect_uris: redirectUris,
      post_logout_redirect_uris: postLogoutRedirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  cookies: { keys: ['gatepass-test-cookie-key'] },
  async findAccount(_ctx, id) {
    const email = id.includes('@') ? id : `${id}@example.com`;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email, email_verified: true, name: `Test ${id}`, preferred_username: email };
      },
    };
  },
});
provider.proxy = false;
server.on('request', provider.callback());
console.log(`issuer=${issuer}`);
// Whoever started us may stop reading stdout after that line: send all later output to stderr.
process.stdout.on('error', () => {});
console.log = console.info = console.warn = (...args) => console.error(...args);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
