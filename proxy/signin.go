package proxy

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oidcgate/oidcgate/claims"
	"github.com/oidcgate/oidcgate/provider"
	"github.com/oidcgate/oidcgate/session"
	"golang.org/x/oauth2"
)

// signIn starts the authorization code flow: a fresh state, nonce and PKCE
// verifier go into a login-state cookie for this browser, and the
// authorization request goes to the provider by redirect (GET) or by an
// auto-submitted form (POST).
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, st *site) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writeError(w, r, refuse(http.StatusMethodNotAllowed, "method", "Sign-in starts with a GET request.", nil))
		return
	}
	ep, err := s.provider.Endpoints()
	if err == nil {
		err = s.provider.Ready()
	}
	if err != nil {
		s.writeError(w, r, refuse(http.StatusServiceUnavailable, "provider_unavailable",
			"The identity provider cannot be reached yet. Please try again in a minute.", err))
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
	if err := s.logins.Begin(w, r, login); err != nil {
		s.writeError(w, r, err)
		return
	}
	params := url.Values{
		"response_type":         {"code"},
		"client_id":             {s.clientID},
		"redirect_uri":          {st.redirectURI},
		"scope":                 {s.scopes},
		"state":                 {login.State},
		"nonce":                 {login.Nonce},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(login.Verifier)},
		"code_challenge_method": {"S256"},
	}
	if s.formPost {
		params.Set("response_mode", "form_post")
	}
	if s.forceReauth {
		params.Set("prompt", "login")
	}
	if s.postAuthorization {
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
		s.writeError(w, r, err)
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

// signInResponse is the redirect URI. The steps follow the specification's
// order, cheapest first: nothing touches the network before the state has
// been found, matched and spent.
func (s *Server) signInResponse(w http.ResponseWriter, r *http.Request, st *site) (user string) {
	user, err := s.completeSignIn(w, r, st)
	if err == nil {
		return user
	}
	result, reason := "failed", "internal"
	var e *Error
	if errors.As(err, &e) {
		reason = e.Reason
		if e.Status < 500 {
			result = "refused"
		}
	}
	s.metrics.signIns.WithLabelValues(result, reason).Inc()
	s.writeError(w, r, err)
	return ""
}

func (s *Server) completeSignIn(w http.ResponseWriter, r *http.Request, st *site) (string, error) {
	params, err := s.callbackParams(w, r)
	if err != nil {
		return "", err
	}
	login, err := s.takeLogin(w, r, st, params.Get("state"))
	if err != nil {
		return "", err
	}
	if code := params.Get("error"); code != "" {
		return "", refuse(http.StatusUnauthorized, "provider_error",
			"The identity provider did not sign you in ("+clip(code, 64)+"). "+clip(params.Get("error_description"), 300),
			errors.New("provider answered error="+clip(code, 64)))
	}
	code := params.Get("code")
	if code == "" {
		return "", refuse(http.StatusBadRequest, "code_missing", "The identity provider's answer carried no authorization code.", nil)
	}
	ctx := r.Context()
	tok, err := s.exchange(ctx, code, login.Verifier, st.redirectURI)
	if err != nil {
		return "", err
	}
	rawIDToken, _ := tok.Extra("id_token").(string)
	if rawIDToken == "" {
		return "", refuse(http.StatusBadGateway, "id_token_missing", "The identity provider's token answer carried no ID token.", nil)
	}
	cl, err := s.verify(ctx, rawIDToken, login.Nonce)
	if err != nil {
		return "", err
	}
	if cl, err = s.withUserInfo(ctx, cl, tok.AccessToken); err != nil {
		return "", err
	}
	id, ok := claims.Match(s.rules, cl)
	if !ok {
		s.metrics.signIns.WithLabelValues("denied", "no_claims_rule").Inc()
		s.log.Warn("sign-in", "result", "denied", "reason", "no_claims_rule", "site", st.name, "issuer", cl["iss"])
		http.Redirect(w, r, st.deniedPath, http.StatusFound)
		return "", nil
	}
	sess := &session.Session{
		User:               id.User,
		AuthenticationType: id.AuthenticationType,
		Email:              id.Email,
		PreferredUsername:  id.PreferredUsername,
		Issuer:             id.Issuer,
		Subject:            id.Subject,
		Expires:            time.Now().Add(s.lifetime),
	}
	if s.signOutFromSTS {
		sess.IDToken = rawIDToken
	}
	if st.ownSession {
		sess.Site = st.name
	}
	if err := st.sessions.Save(w, r, sess); err != nil {
		return "", err
	}
	s.metrics.signIns.WithLabelValues("ok", "").Inc()
	s.log.Info("sign-in", "result", "ok", "site", st.name, "user", id.User, "authentication_type", id.AuthenticationType)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, login.ReturnURL, http.StatusFound)
	return id.User, nil
}

// callbackParams reads code, state and error from the query (GET) or from a
// size-limited form body (POST, response_mode=form_post).
func (s *Server) callbackParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	switch r.Method {
	case http.MethodGet:
		return r.URL.Query(), nil
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, s.maxCallbackBody)
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
// and never have been used before on this server.
func (s *Server) takeLogin(w http.ResponseWriter, r *http.Request, st *site, state string) (session.LoginState, error) {
	const again = " Please start again from the site."
	if state == "" {
		return session.LoginState{}, refuse(http.StatusBadRequest, "state_missing", "The sign-in answer carried no state."+again, nil)
	}
	login, err := s.logins.Take(w, r, state)
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
	if err := s.replay.Use(state, login.Created.Add(loginTTL)); err != nil {
		switch {
		case errors.Is(err, session.ErrReplayGuardFull):
			return login, refuse(http.StatusServiceUnavailable, "replay_guard_full", "Too many sign-ins are in progress. Please try again in a minute.", err)
		case errors.Is(err, session.ErrLoginExpired):
			return login, refuse(http.StatusBadRequest, "state_expired", "This sign-in took too long and has expired."+again, err)
		}
		return login, refuse(http.StatusBadRequest, "state_replayed", "This sign-in answer was already used."+again, err)
	}
	return login, nil
}

// exchange redeems the code with the PKCE verifier at the token endpoint.
func (s *Server) exchange(ctx context.Context, code, verifier, redirectURI string) (*oauth2.Token, error) {
	start := time.Now()
	tok, err := s.provider.Exchange(ctx, code, verifier, redirectURI)
	s.metrics.tokenEndpoint.Observe(since(start))
	if err == nil {
		return tok, nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		what := re.ErrorCode
		if what == "" {
			what = "HTTP " + http.StatusText(re.Response.StatusCode)
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
func (s *Server) verify(ctx context.Context, raw, nonce string) (claims.Claims, error) {
	cl, err := s.provider.Verify(ctx, raw, nonce)
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
	return nil, refuse(http.StatusUnauthorized, reason, "The identity provider's ID token failed a check ("+verifyWords(reason)+"), so you were not signed in.", err)
}

// withUserInfo completes the claims from the userinfo endpoint when the ID
// token lacks what the claims rules or the headers need.
func (s *Server) withUserInfo(ctx context.Context, cl claims.Claims, accessToken string) (claims.Claims, error) {
	if !claims.NeedsUserInfo(s.rules, cl) || accessToken == "" {
		return cl, nil
	}
	ep, err := s.provider.Endpoints()
	if err != nil || ep.UserInfo == "" {
		return cl, nil
	}
	ui, err := s.provider.UserInfo(ctx, accessToken)
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
