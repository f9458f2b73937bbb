// panva's node-oidc-provider (OpenID Certified), configured as a province's SSO would be,
// for tests/contract/test_identity_foreign_oidc.py: the hub's OpenID adapter against a
// provider the hub's authors did not write.
//
// Everything comes from the environment:
//   OIDC_PORT           the port on 127.0.0.1 (the issuer is http://127.0.0.1:<port>)
//   OIDC_CLIENT         {"client_id", "client_secret", "redirect_uris", "post_logout_redirect_uris"}
//   OIDC_ACCOUNTS       {"<accountId>": {"personal_id", "name", "birthdate", ...}}
//
// The person signs in through the provider's own development pages (devInteractions):
// a login form (any password) and a consent form, which the test submits over HTTP as a
// browser would. PKCE is required of every client; the personal ID is the claim
// `personal_id` of the scope `personal_id`, returned by the userinfo endpoint (the ID
// token of the code flow carries no profile claims: conformIdTokenClaims).
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`server.mjs: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const port = Number(required('OIDC_PORT'));
const client = JSON.parse(required('OIDC_CLIENT'));
const accounts = JSON.parse(required('OIDC_ACCOUNTS'));

const signingKey = {
  ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: randomBytes(8).toString('hex'),
  alg: 'RS256',
  use: 'sig',
};

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: client.client_id,
    client_secret: client.client_secret,
    redirect_uris: client.redirect_uris,
    post_logout_redirect_uris: client.post_logout_redirect_uris ?? [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { methods: ['S256'], required: () => true },
  claims: {
    openid: ['sub'],
    profile: ['name', 'family_name', 'given_name', 'birthdate'],
    personal_id: ['personal_id'],
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, accountId) {
    const claims = accounts[accountId];
    if (!claims) return undefined;
    return { accountId, claims: async () => ({ sub: accountId, ...claims }) };
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`node-oidc-provider listening on ${provider.issuer}`);
});
