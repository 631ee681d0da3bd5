// A real, independent OpenID provider for oidcgate's end-to-end tests:
// panva's oidc-provider (OpenID Certified) on loopback over HTTPS.
//
//   node --unhandled-rejections=strict server.js CONFIG.json
//
// CONFIG.json (written by the Go tests; OP_CONFIG may name it instead):
//   {
//     "host": "localhost",            // name used in the issuer; the server listens on 127.0.0.1
//     "port": 0,                      // 0: any free port, announced on stdout
//     "cert_file": "…", "key_file": "…",  // PEM, for HTTPS
//     "jwks_file": "…",                  // private JWKS: the ID token signing keys (RS256, ES256)
//     "conform_id_token_claims": false, // true: email/profile claims only from userinfo
//     "clients": [{ "client_id", "client_secret", "token_endpoint_auth_method",
//                   "redirect_uris", "post_logout_redirect_uris",
//                   "id_token_signed_response_alg",
//                   "jwks",         // private_key_jwt: the client's public keys
//                   "grant_types",  // default ["authorization_code"]
//                   "backchannel_logout_uri", "backchannel_logout_session_required" }
//   }
//
// stdout carries one JSON object per line, for the tests to assert on:
//   {"event":"listening","issuer":…}            once, when requests can be served
//   {"event":"token","client_id":…,"auth_method":…,"registered_method":…,"status":…}
//   {"event":"login","username":…,"ok":…}      each sign-in form submission
//   {"event":"end_session"}                     each completed sign-out
//   {"event":"backchannel","client_id":…,"ok":…,"error":…}  each back-channel logout sent
// The provider posts back-channel logout tokens from this process: it trusts
// the relying party's certificate through NODE_EXTRA_CA_CERTS.
// oidc-provider itself may print plain-text notices there too; readers skip them.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

import { Provider, errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2] ?? process.env.OP_CONFIG, 'utf8'));

// Fixed test users. alice is the organisation's own account and has a upn
// (as Entra ID gives only to members); bob is a guest without one, so a
// claims rule on upn admits alice and refuses bob.
const users = new Map([
  ['alice', { password: 'alice-password', email: 'alice@example.com', name: 'Alice Example', upn: 'alice@example.com' }],
  ['bob', { password: 'bob-password', email: 'bob@elsewhere.example.org', name: 'Bob Elsewhere' }],
]);

function event(fields) {
  process.stdout.write(`${JSON.stringify(fields)}\n`);
}

const escape = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Every page is self-contained: the browser in the tests has no internet,
// and the library's default pages import web fonts.
function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:sans-serif;background:#eef1f5;margin:0;padding:40px}
main{max-width:340px;margin:0 auto;background:#fff;padding:24px 28px;border-radius:6px;box-shadow:0 1px 3px #0003}
h1{font-size:1.3em;margin-top:0} label{display:block;margin:12px 0 4px}
input{width:100%;box-sizing:border-box;padding:8px;font-size:1em}
button{margin-top:18px;width:100%;padding:10px;font-size:1em;background:#2a5db0;color:#fff;border:0;border-radius:4px}
#error{color:#b00020;font-weight:bold} small{color:#666}
</style></head>
<body><main>${body}</main></body></html>`;
}

function signInPage(uid, clientId, username, error) {
  return page('Sign in - e2e OpenID provider', `
<h1>Sign in</h1>
<p>to continue to <b id="client">${escape(clientId)}</b></p>
${error ? `<p id="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
<label for="username">User name</label><input id="username" name="username" value="${escape(username)}"${username ? '' : ' autofocus'} required>
<label for="password">Password</label><input id="password" name="password" type="password"${username ? ' autofocus' : ''} required>
<button id="signin" type="submit">Sign in</button>
</form>
<p><small>oidc-provider test instance, for oidcgate's end-to-end tests only.</small></p>`);
}

// assertionMethod names a client assertion's method by its header's alg.
function assertionMethod(assertion) {
  try {
    const { alg } = JSON.parse(Buffer.from(String(assertion).split('.')[0], 'base64url').toString('utf8'));
    return String(alg).startsWith('HS') ? 'client_secret_jwt' : 'private_key_jwt';
  } catch {
    return 'client_assertion';
  }
}

const clients = config.clients.map((c) => ({
  response_types: ['code'],
  grant_types: ['authorization_code'],
  ...c,
}));

const server = createServer({
  cert: readFileSync(config.cert_file),
  key: readFileSync(config.key_file),
});

// The issuer names the port, so the provider is made once the port is known.
server.listen(config.port ?? 0, '127.0.0.1', () => {
  const issuer = `https://${config.host ?? '127.0.0.1'}:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients,
    // Made fresh by the tests for each start; relying parties learn them
    // from the jwks_uri like any other.
    jwks: JSON.parse(readFileSync(config.jwks_file, 'utf8')),
    findAccount(ctx, sub) {
      const user = users.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub, email: user.email, email_verified: true, preferred_username: sub, name: user.name,
          ...(user.upn ? { upn: user.upn } : {}),
        }),
      };
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username', 'upn'],
    },
    // false puts the scope's claims into the ID token, as Entra ID and AD FS do.
    conformIdTokenClaims: config.conform_id_token_claims ?? false,
    pkce: { required: () => true },
    // Short lives suit tests; setting them also silences the library's notices.
    ttl: {
      AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 3600, Interaction: 600, Session: 3600,
    },
    // OpenID Connect Core requires POST at the authorization endpoint, and
    // oidcgate sends its authorization request by POST by default. Since v9
    // the library serves POST only on request, and only with SameSite=None
    // on its session cookie: a cross-site POST never carries a Lax cookie.
    enableHttpPostMethods: true,
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      long: { httpOnly: true, sameSite: 'none' },
    },
    features: {
      devInteractions: { enabled: false },
      // For clients registered with grant_types client_credentials: machine
      // to machine tokens, as oidcgate's [[credentials]] request them.
      clientCredentials: { enabled: true },
      // Clients registered with a backchannel_logout_uri get a logout token
      // when the user signs out here; sids go into ID tokens for them.
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        // Sign-out needs no click: the form is submitted with logout=yes, which
        // ends the whole OP session and then goes to post_logout_redirect_uri.
        async logoutSource(ctx, form) {
          ctx.body = page('Signing out', `<h1>Signing out…</h1>
${form.replace('</form>', '<input type="hidden" name="logout" value="yes"><button id="signout" type="submit">Sign out</button></form>')}
<script>document.forms[0].submit()</script>`);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = page('Signed out', '<h1 id="signed-out">You are signed out.</h1>');
        },
      },
    },
    // The library refuses to post to loopback addresses (its guard against
    // server-side request forgery), and every relying party here is on
    // 127.0.0.1: outgoing requests go without that guard, in tests only.
    fetch(url, options) {
      const { dispatcher, ...rest } = options;
      return globalThis.fetch(url, rest);
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Error', `<h1>OpenID provider error</h1>${Object.entries(out)
        .map(([k, v]) => `<p><b>${escape(k)}</b>: <span class="${escape(k)}">${escape(v)}</span></p>`).join('')}`);
    },
  });

  // The provider accepts either secret method from any client, so the tests
  // learn from this line which one each token request really used.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'token') return;
    const methods = [];
    if (/^basic /i.test(ctx.get('authorization'))) methods.push('client_secret_basic');
    if (ctx.oidc.body?.client_secret !== undefined) methods.push('client_secret_post');
    if (ctx.oidc.body?.client_assertion !== undefined) methods.push(assertionMethod(ctx.oidc.body.client_assertion));
    event({
      event: 'token',
      client_id: ctx.oidc.client?.clientId ?? ctx.oidc.body?.client_id,
      auth_method: methods.join('+') || 'none', // both at once is a client bug worth seeing
      registered_method: ctx.oidc.client?.clientAuthMethod,
      grant_type: ctx.oidc.body?.grant_type,
      status: ctx.status,
    });
  });
  provider.on('end_session.success', () => event({ event: 'end_session' }));
  provider.on('backchannel.success', (ctx, client) => event({ event: 'backchannel', client_id: client.clientId, ok: true }));
  provider.on('backchannel.error', (ctx, err, client) => event({
    event: 'backchannel', client_id: client.clientId, ok: false, error: String(err?.message ?? err),
  }));
  provider.on('server_error', (ctx, err) => console.error('server_error', err));

  const providerCallback = provider.callback();
  server.on('request', (req, res) => {
    const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(new URL(req.url, issuer).pathname);
    if (!match) {
      providerCallback(req, res);
      return;
    }
    interaction(provider, req, res, match[2] !== undefined).catch((err) => {
      // A missing or expired interaction cookie lands here: say so plainly.
      const known = err instanceof errors.OIDCProviderError;
      if (!known) console.error('interaction', err);
      res.statusCode = known ? err.statusCode : 500;
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(page('Error', `<h1>Sign-in error</h1><p id="error">${escape(known ? err.error_description ?? err.message : 'internal error')}</p>`));
    });
  });

  event({ event: 'listening', issuer });
});

async function interaction(provider, req, res, submitted) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;

  if (prompt.name === 'consent') {
    await grantConsent(provider, req, res, details);
    return;
  }

  if (!submitted || req.method !== 'POST') {
    html(res, 200, signInPage(uid, params.client_id, params.login_hint));
    return;
  }

  const form = new URLSearchParams(await readBody(req));
  const username = form.get('username') ?? '';
  const user = users.get(username);
  const ok = user !== undefined && user.password === form.get('password');
  event({ event: 'login', username, ok });
  if (!ok) {
    html(res, 200, signInPage(uid, params.client_id, username, 'Wrong user name or password.'));
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: username } }, { mergeWithLastSubmission: false });
}

// Consent is granted at once for whatever is missing, so no consent page
// ever appears: the relying parties here are first-party applications.
async function grantConsent(provider, req, res, { grantId, prompt: { details }, params, session }) {
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const saved = await grant.save();
  await provider.interactionFinished(req, res, { consent: grantId ? {} : { grantId: saved } }, { mergeWithLastSubmission: true });
}

function html(res, status, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// The tests stop the provider with SIGTERM; closing the server alone would
// wait for the browser's keep-alive connections.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
