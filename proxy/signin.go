package proxy

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oidcgate/oidcgate/claims"
	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/provider"
	"github.com/oidcgate/oidcgate/session"
	"github.com/oidcgate/oidcgate/store"
	"golang.org/x/oauth2"
)

// loginTTL is how long a sign-in attempt may take at the provider.
const loginTTL = 10 * time.Minute

// maxLoginAttempts bounds the login-state cookies one browser carries.
const maxLoginAttempts = 5

// authOptions are the sign-in and sign-out settings from the configuration.
type authOptions struct {
	ClientID          string
	Scopes            string        // space-separated, as the authorization request sends them
	PostAuthorization bool          // authorization request by an auto-submitted form
	FormPost          bool          // response_mode=form_post
	ForceReauth       bool          // prompt=login
	SignOutFromSTS    bool          // sign-out ends the session at the provider too
	Lifetime          time.Duration // of a session
	MaxCallbackBody   int64         // bytes of a form_post sign-in answer
	Rules             []claims.Rule
}

func authOptionsFrom(cfg *config.Config) authOptions {
	oc := cfg.OpenIDConnect
	o := authOptions{
		ClientID:          oc.ClientID,
		Scopes:            strings.Join(oc.AllScopes(), " "),
		PostAuthorization: oc.AuthorizationRequestHTTPMethod == config.MethodPost,
		FormPost:          oc.ResponseMode == config.ResponseModeFormPost,
		ForceReauth:       oc.ForceReauthenticate,
		SignOutFromSTS:    cfg.Authentication.SignOutFromSTS,
		Lifetime:          cfg.Session.Lifetime.Duration,
		MaxCallbackBody:   cfg.Limits.MaxCallbackBodyBytes,
	}
	for _, r := range cfg.Authentication.Claims {
		o.Rules = append(o.Rules, claims.Rule{ClaimType: r.ClaimType, OriginalIssuer: r.OriginalIssuer, AuthenticationType: r.AuthenticationType})
	}
	return o
}

// authFlow runs the sign-in and sign-out endpoints: it sends the browser to
// the provider, checks the provider's answer, and starts or ends the
// session. Sites and their session stores come with each request.
type authFlow struct {
	errorWriter
	opts     authOptions
	log      *slog.Logger
	provider *provider.Provider
	logins   *session.Logins
	store    store.Store // single-use login states; sign-out's marks
	metrics  *metrics
}

func newAuthFlow(cfg *config.Config, prov *provider.Provider, codec *session.Codec, st store.Store, m *metrics, log *slog.Logger) *authFlow {
	return &authFlow{
		errorWriter: errorWriter{log},
		opts:        authOptionsFrom(cfg),
		log:         log,
		provider:    prov,
		logins: session.NewLogins(session.LoginOptions{
			Name:          cookieName(cfg.Session),
			TTL:           loginTTL,
			Max:           maxLoginAttempts,
			Secure:        true, // base_url is https, even when TLS ends at a load balancer
			CrossSitePost: cfg.OpenIDConnect.ResponseMode == config.ResponseModeFormPost,
			Codec:         codec,
		}),
		store:   st,
		metrics: m,
	}
}

// signIn starts the authorization code flow: a fresh state, nonce and PKCE
// verifier go into a login-state cookie for this browser, and the
// authorization request goes to the provider by redirect (GET) or by an
// auto-submitted form (POST).
func (a *authFlow) signIn(w http.ResponseWriter, r *http.Request, st *site) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		a.writeError(w, r, refuse(http.StatusMethodNotAllowed, "method", "Sign-in starts with a GET request.", nil))
		return
	}
	ep, err := a.provider.Endpoints()
	if err == nil {
		err = a.provider.Ready()
	}
	if err != nil {
		a.writeError(w, r, withRetry(refuse(http.StatusServiceUnavailable, "provider_unavailable",
			"The identity provider cannot be reached yet. Please try again in a minute.", err), r.URL.RequestURI()))
		return
	}
	login := session.LoginState{
		State:     rand.Text(),
		Nonce:     rand.Text(),
		Verifier:  oauth2.GenerateVerifier(),
		ReturnURL: safeReturnURL(returnURLParam(r.URL.Query()), st.prefix),
		Site:      st.name,
		Created:   time.Now(),
	}
	if err := a.logins.Begin(w, r, login); err != nil {
		a.writeError(w, r, err)
		return
	}
	params := url.Values{
		"response_type":         {"code"},
		"client_id":             {a.opts.ClientID},
		"redirect_uri":          {st.redirectURI},
		"scope":                 {a.opts.Scopes},
		"state":                 {login.State},
		"nonce":                 {login.Nonce},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(login.Verifier)},
		"code_challenge_method": {"S256"},
	}
	if a.opts.FormPost {
		params.Set("response_mode", "form_post")
	}
	if a.opts.ForceReauth {
		params.Set("prompt", "login")
	}
	if a.opts.PostAuthorization {
		fields := make([]field, 0, len(params))
		for _, name := range []string{"client_id", "redirect_uri", "response_type", "response_mode", "scope", "state", "nonce", "code_challenge", "code_challenge_method", "prompt"} {
			if v := params.Get(name); v != "" {
				fields = append(fields, field{Name: name, Value: v})
			}
		}
		renderAutoPost(w, autoPost{Action: ep.Authorization, Fields: fields})
		return
	}
	target, err := url.Parse(ep.Authorization)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	q := target.Query()
	for k, v := range params {
		q[k] = v
	}
	target.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// returnURLParam reads ReturnUrl in any letter case, as IIS does.
func returnURLParam(q url.Values) string {
	if v, ok := q["ReturnUrl"]; ok && len(v) > 0 {
		return v[0]
	}
	for k, v := range q {
		if strings.EqualFold(k, "ReturnUrl") && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// signedIn is what a sign-in answer that passed every check led to.
type signedIn struct {
	identity  claims.Identity
	returnURL string
	// denied: the ID token was good, but no claims rule lets this user in.
	denied bool
	// why it was denied: no_claims_rule, email_unverified
	reason string
	// For the outcome's log line: who the token was about, and which
	// claims it had (names only), so that "everyone is denied because the
	// token has no upn" can be read from one line.
	issuer, subject string
	claimNames      string
}

// signInResponse is the redirect URI. completeSignIn runs the checks and
// sets the cookies; this writes the one response and the one log line for
// the outcome, and counts it.
func (a *authFlow) signInResponse(w http.ResponseWriter, r *http.Request, st *site) (user string) {
	done, err := a.completeSignIn(w, r, st)
	switch {
	case err != nil:
		result, reason := "failed", "internal"
		var e *Error
		if errors.As(err, &e) {
			reason = e.Reason
			if e.Status < 500 {
				result = "refused"
			}
		}
		a.metrics.signIns.WithLabelValues(result, reason).Inc()
		a.writeError(w, r, withRetry(err, st.prefix))
		return ""
	case done.denied:
		a.metrics.signIns.WithLabelValues("denied", done.reason).Inc()
		a.log.Warn("sign-in", "result", "denied", "reason", done.reason, "site", st.name,
			"request_id", r.Header.Get("X-Request-Id"), "issuer", done.issuer, "subject", done.subject, "claims", done.claimNames)
		// The page shows the sign-in's request id, which finds this line.
		http.Redirect(w, r, st.deniedPath+"?signin="+url.QueryEscape(r.Header.Get("X-Request-Id")), http.StatusFound)
		return ""
	}
	id := done.identity
	a.metrics.signIns.WithLabelValues("ok", "").Inc()
	a.log.Info("sign-in", "result", "ok", "site", st.name, "user", id.User, "authentication_type", id.AuthenticationType,
		"request_id", r.Header.Get("X-Request-Id"), "issuer", done.issuer, "subject", done.subject, "claims", done.claimNames)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, done.returnURL, http.StatusFound)
	return id.User
}

// completeSignIn checks a sign-in answer in the specification's order,
// cheapest first: nothing touches the provider before the state has been
// found, matched and reserved. The reservation is kept only when the
// sign-in succeeds (or is denied by the claims rules after the provider
// signed the user in); any failure releases it, so a failed or abandoned
// callback leaves nothing behind. It sets cookies (the login state spent,
// the session) but writes no response and logs nothing.
func (a *authFlow) completeSignIn(w http.ResponseWriter, r *http.Request, st *site) (signedIn, error) {
	params, err := a.callbackParams(w, r)
	if err != nil {
		return signedIn{}, err
	}
	login, err := a.takeLogin(w, r, st, params.Get("state"))
	if err != nil {
		return signedIn{}, err
	}
	done, err := a.redeem(w, r, st, params, login)
	if err != nil {
		a.store.Release(context.WithoutCancel(r.Context()), loginKey(login.State))
	}
	return done, err
}

// redeem exchanges the code of a reserved login state and starts the
// session.
func (a *authFlow) redeem(w http.ResponseWriter, r *http.Request, st *site, params url.Values, login session.LoginState) (signedIn, error) {
	code, err := authorizationCode(params)
	if err != nil {
		return signedIn{}, err
	}
	ctx := r.Context()
	tok, err := a.exchange(ctx, code, login.Verifier, st.redirectURI)
	if err != nil {
		return signedIn{}, err
	}
	rawIDToken, err := idToken(tok)
	if err != nil {
		return signedIn{}, err
	}
	cl, err := a.verify(ctx, rawIDToken, login.Nonce)
	if err != nil {
		return signedIn{}, err
	}
	if cl, err = a.withUserInfo(ctx, cl, tok.AccessToken); err != nil {
		return signedIn{}, err
	}
	done := signedIn{claimNames: claimNames(cl)}
	done.issuer, _ = cl.String("iss")
	done.subject, _ = cl.String("sub")
	id, ok := claims.Match(a.opts.Rules, cl)
	if !ok {
		done.denied, done.reason = true, "no_claims_rule"
		if claims.RefusedUnverifiedEmail(a.opts.Rules, cl) {
			done.reason = "email_unverified"
		}
		return done, nil
	}
	sid, _ := cl["sid"].(string)
	if err := a.startSession(w, r, st, id, sid, rawIDToken); err != nil {
		return signedIn{}, err
	}
	done.identity, done.returnURL = id, login.ReturnURL
	return done, nil
}

// claimNames lists the names of the claims, sorted and comma-separated,
// for the sign-in's log line: names only, never values. A provider could
// send any number of claims of any length; the line stays bounded.
func claimNames(cl claims.Claims) string {
	const maxNames, maxName = 64, 64
	names := make([]string, 0, len(cl))
	for name := range cl {
		names = append(names, clip(name, maxName))
	}
	slices.Sort(names)
	if len(names) > maxNames {
		names = append(names[:maxNames], "…")
	}
	return strings.Join(names, ",")
}

// authorizationCode is the code in the provider's answer, or the error the
// provider answered with instead.
func authorizationCode(params url.Values) (string, error) {
	if code := params.Get("error"); code != "" {
		desc := params.Get("error_description")
		public := "The identity provider did not sign you in (" + clip(code, 64) + "). " + clip(desc, 300)
		cause := errors.New("provider answered error=" + clip(code, 64))
		if configurationError(code, desc) {
			return "", refuseAdmin(http.StatusUnauthorized, "provider_error", public, cause)
		}
		return "", refuse(http.StatusUnauthorized, "provider_error", public, cause)
	}
	code := params.Get("code")
	if code == "" {
		return "", refuse(http.StatusBadRequest, "code_missing", "The identity provider's answer carried no authorization code.", nil)
	}
	return code, nil
}

// idToken is the ID token in the token endpoint's answer.
func idToken(tok *oauth2.Token) (string, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", refuse(http.StatusBadGateway, "id_token_missing", "The identity provider's token answer carried no ID token.", nil)
	}
	return raw, nil
}

// startSession sets the session cookie for the signed-in user; the ID token
// goes in only when sign-out needs it as a hint for the provider.
func (a *authFlow) startSession(w http.ResponseWriter, r *http.Request, st *site, id claims.Identity, sid, rawIDToken string) error {
	sess := &session.Session{
		User:               id.User,
		AuthenticationType: id.AuthenticationType,
		Email:              id.Email,
		PreferredUsername:  id.PreferredUsername,
		Issuer:             id.Issuer,
		Subject:            id.Subject,
		SID:                sid,
		Expires:            time.Now().Add(a.opts.Lifetime),
	}
	if a.opts.SignOutFromSTS {
		sess.IDToken = rawIDToken
	}
	if st.ownSession {
		sess.Site = st.name
	}
	return st.sessions.Save(w, r, sess)
}

// callbackParams reads code, state and error from the query (GET) or from a
// size-limited form body (POST, response_mode=form_post).
func (a *authFlow) callbackParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	switch r.Method {
	case http.MethodGet:
		return r.URL.Query(), nil
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, a.opts.MaxCallbackBody)
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, refuse(http.StatusRequestEntityTooLarge, "body_too_large", "The sign-in answer was too large.", err)
			}
			return nil, refuse(http.StatusBadRequest, "bad_form", "The sign-in answer could not be read.", err)
		}
		return r.PostForm, nil
	default:
		return nil, refuse(http.StatusMethodNotAllowed, "method", "The sign-in answer must come by GET or POST.", nil)
	}
}

// takeLogin finds and spends the login state named by the callback's state:
// it must exist in this browser, be intact and fresh, belong to this site,
// and be reserved here, once across every replica sharing the store.
func (a *authFlow) takeLogin(w http.ResponseWriter, r *http.Request, st *site, state string) (session.LoginState, error) {
	const again = " Please start again from the site."
	if state == "" {
		return session.LoginState{}, refuse(http.StatusBadRequest, "state_missing", "The sign-in answer carried no state."+again, nil)
	}
	login, err := a.logins.Take(w, r, state)
	switch {
	case errors.Is(err, session.ErrLoginMissing):
		return login, refuse(http.StatusBadRequest, "state_unknown", "This sign-in was not started in this browser, or it was already completed."+again, err)
	case errors.Is(err, session.ErrLoginExpired):
		return login, refuse(http.StatusBadRequest, "state_expired", "This sign-in took too long and has expired."+again, err)
	case err != nil:
		return login, refuse(http.StatusBadRequest, "state_invalid", "The sign-in state did not match."+again, err)
	}
	if login.Site != st.name {
		return login, refuse(http.StatusBadRequest, "state_site", "This sign-in was started for another site."+again, nil)
	}
	ttl := time.Until(login.Created.Add(loginTTL))
	if ttl <= 0 {
		return login, refuse(http.StatusBadRequest, "state_expired", "This sign-in took too long and has expired."+again, nil)
	}
	err = a.store.Reserve(r.Context(), loginKey(state), ttl)
	switch {
	case errors.Is(err, store.ErrTaken):
		return login, refuse(http.StatusBadRequest, "state_replayed", "This sign-in answer was already used."+again, err)
	case errors.Is(err, store.ErrUnavailable):
		// Reserved on this replica only; the sign-in goes on.
		a.log.Debug("sign-in: login state checked on this replica only", "error", err.Error())
	case err != nil:
		return login, refuse(http.StatusServiceUnavailable, "store_failed", "Your sign-in could not be checked right now. Please try again in a minute.", err)
	}
	return login, nil
}

// loginKey is a login state's name among the store's reservations.
func loginKey(state string) string { return "login\x00" + state }

// exchange redeems the code with the PKCE verifier at the token endpoint.
func (a *authFlow) exchange(ctx context.Context, code, verifier, redirectURI string) (*oauth2.Token, error) {
	start := time.Now()
	tok, err := a.provider.Exchange(ctx, code, verifier, redirectURI)
	a.metrics.tokenEndpoint.Observe(since(start))
	if err == nil {
		return tok, nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		what := re.ErrorCode
		if what == "" {
			what = "HTTP " + http.StatusText(re.Response.StatusCode)
		}
		if re.ErrorCode != "" && re.Response.StatusCode < 500 && configurationError(re.ErrorCode, re.ErrorDescription) {
			return nil, refuseAdmin(http.StatusUnauthorized, "token_refused",
				"The identity provider refused oidcgate's request to complete the sign-in ("+clip(what, 64)+").", err)
		}
		if re.ErrorCode != "" && re.Response.StatusCode < 500 {
			return nil, refuse(http.StatusUnauthorized, "token_refused",
				"The identity provider refused to complete the sign-in ("+clip(what, 64)+"). Please start again from the site.", err)
		}
		return nil, refuse(http.StatusBadGateway, "token_endpoint_failed", "The identity provider's token endpoint failed ("+clip(what, 64)+").", err)
	}
	if isTimeout(err) {
		return nil, refuse(http.StatusGatewayTimeout, "token_endpoint_timeout", "The identity provider's token endpoint did not answer in time.", err)
	}
	return nil, refuse(http.StatusBadGateway, "token_endpoint_failed", "The identity provider's token endpoint could not be reached or gave an answer that could not be read.", err)
}

// verify checks the ID token and maps a failure to a refusal naming the
// check that failed.
func (a *authFlow) verify(ctx context.Context, raw, nonce string) (claims.Claims, error) {
	cl, err := a.provider.Verify(ctx, raw, nonce)
	if err == nil {
		return cl, nil
	}
	reason := "id_token_invalid"
	var ve *provider.VerifyError
	if errors.As(err, &ve) {
		reason = "id_token_" + string(ve.Reason)
		if ve.Reason == provider.ReasonKeysUnavailable {
			return nil, refuse(http.StatusServiceUnavailable, reason, "The identity provider's signing keys cannot be loaded right now. Please try again in a minute.", err)
		}
	}
	public := "The identity provider's ID token failed a check (" + verifyWords(reason) + "), so you were not signed in."
	if ve != nil && adminReasons[ve.Reason] {
		return nil, refuseAdmin(http.StatusUnauthorized, reason, public, err)
	}
	return nil, refuse(http.StatusUnauthorized, reason, public, err)
}

// adminReasons are the ID token checks that fail the same way for every
// user until the configuration or the machine is fixed: keys, algorithms,
// issuer, client id, and clocks.
var adminReasons = map[provider.Reason]bool{
	provider.ReasonUnknownKey:      true,
	provider.ReasonSignature:       true,
	provider.ReasonAlgorithm:       true,
	provider.ReasonIssuer:          true,
	provider.ReasonAudience:        true,
	provider.ReasonAuthorizedParty: true,
	provider.ReasonExpired:         true,
	provider.ReasonNotBefore:       true,
	provider.ReasonIssuedAt:        true,
}

// configurationError reports whether an OAuth error from the provider
// (RFC 6749 4.1.2.1 and 5.2) names a problem with how the client is set
// up, such as a wrong client secret or a redirect URI the provider does
// not know, rather than with this attempt.
func configurationError(code, description string) bool {
	switch code {
	case "invalid_client", "unauthorized_client", "unsupported_grant_type", "unsupported_response_type", "invalid_scope", "invalid_request":
		return true
	}
	d := strings.ToLower(description)
	return strings.Contains(d, "redirect_uri") || strings.Contains(d, "redirect uri") || strings.Contains(d, "reply url")
}

// withUserInfo completes the claims from the userinfo endpoint when the ID
// token lacks what the claims rules or the headers need.
func (a *authFlow) withUserInfo(ctx context.Context, cl claims.Claims, accessToken string) (claims.Claims, error) {
	if !claims.NeedsUserInfo(a.opts.Rules, cl) || accessToken == "" {
		return cl, nil
	}
	ep, err := a.provider.Endpoints()
	if err != nil || ep.UserInfo == "" {
		return cl, nil
	}
	ui, err := a.provider.UserInfo(ctx, accessToken)
	if err != nil {
		return nil, refuse(http.StatusBadGateway, "userinfo_failed", "The identity provider's userinfo endpoint failed.", err)
	}
	merged, err := claims.Merge(cl, ui)
	if err != nil {
		return nil, refuse(http.StatusUnauthorized, "userinfo_subject", "The identity provider's userinfo answer was about another user.", err)
	}
	return merged, nil
}

func verifyWords(reason string) string {
	switch strings.TrimPrefix(reason, "id_token_") {
	case "signature", "unknown_key":
		return "signature"
	case "algorithm":
		return "signing algorithm not allowed"
	case "issuer":
		return "issuer"
	case "audience":
		return "audience"
	case "azp":
		return "authorized party"
	case "expired":
		return "expired"
	case "issued_at":
		return "issue time"
	case "not_before":
		return "not valid yet"
	case "nonce":
		return "nonce"
	case "subject":
		return "subject"
	default:
		return "malformed"
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// clip shortens provider-supplied text before it reaches a page; the page
// template escapes it.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
