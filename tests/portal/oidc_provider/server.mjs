// panva's oidc-provider (OpenID Certified), run for the portal's login interop tests: the
// independent provider the portal must work with, in its spec-conformant defaults (for the code
// flow the claims of a scope come from the userinfo endpoint, not the ID token;
// RP-Initiated Logout with a confirmation page), plus PKCE required, as a DigiD broker has it.
//
// What is ours: the configuration (one client, the portal, from KK_OIDC_CONFIG) and a small
// interaction form that stands in for the broker's login screen. The form says which person
// logs in (their claims) and at which level of assurance (acr); the consent prompt is granted
// at once, as a broker does for the services it serves. Accounts live in memory.
//
// One fault on purpose: a login form with ``userinfo_sub`` filled in makes the userinfo endpoint
// answer about that subject instead, as a broken broker might, so the portal's refusal can be
// tested against this provider too.
//
// KK_OIDC_CONFIG (JSON): port, issuer, client {client_id, client_secret, redirect_uris,
// post_logout_redirect_uris, id_token_signed_response_alg}, jwks {keys: [private JWKs]},
// claims {scope: [claim names]}, list_claims [claims whose value is a list], acr_values
// [supported values], cookie_key, rp_initiated_logout (false: a provider without an
// end_session_endpoint).
// KK_OIDC_PROVIDER_ENTRY: the file URL of oidc-provider's module (scripts/oidc-provider).
// It listens on 127.0.0.1 only and prints "listening" when ready.

const config = JSON.parse(process.env.KK_OIDC_CONFIG);
const { default: Provider } = await import(process.env.KK_OIDC_PROVIDER_ENTRY);

const accounts = new Map();

const provider = new Provider(config.issuer, {
  clients: [config.client],
  jwks: config.jwks,
  claims: config.claims,
  scopes: Object.keys(config.claims),
  acrValues: config.acr_values,
  pkce: { required: () => true },
  cookies: { keys: [config.cookie_key] },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: config.rp_initiated_logout },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, sub) => {
    const account = accounts.get(sub);
    if (!account) return undefined;
    const accountId = (ctx.oidc.route === 'userinfo' && account.userinfo_sub) || sub;
    return { accountId, claims: async () => ({ ...account.claims, sub: accountId }) };
  },
});

const escape = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginForm(uid, prompt) {
  const claimed = Object.values(config.claims).flat();
  const fields = [...new Set(['sub', 'name', 'acr', ...claimed, 'userinfo_sub'])];
  const inputs = fields
    .map((name) => `<label>${escape(name)} <input name="${escape(name)}"></label>`)
    .join('\n');
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Broker login</title>
</head><body><h1>Broker login (${escape(prompt)})</h1>
<form method="post" action="/interaction/${escape(uid)}">
${inputs}
<button type="submit">Log in</button></form></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

async function interactions(ctx, next) {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)$/);
  if (!match) return next();
  const { req, res } = ctx;
  const details = await provider.interactionDetails(req, res);
  ctx.respond = false;
  if (details.prompt.name === 'consent') {
    const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    const missing = details.prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } });
  }
  if (ctx.method === 'GET') {
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    return res.end(loginForm(match[1], details.prompt.name));
  }
  const form = await readForm(req);
  const claims = {};
  for (const [name, value] of form) {
    if (value === '' || ['sub', 'acr', 'userinfo_sub'].includes(name)) continue;
    claims[name] = config.list_claims.includes(name) ? value.split(' ') : value;
  }
  accounts.set(form.get('sub'), { claims, userinfo_sub: form.get('userinfo_sub') });
  const login = { accountId: form.get('sub') };
  if (form.get('acr')) login.acr = form.get('acr');
  return provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
}

provider.use(interactions);
provider.listen(config.port, '127.0.0.1', () => console.log('listening'));
