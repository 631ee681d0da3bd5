package fakeop

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

const sessionCookieName = "proxytest_op_session"

// authRequest holds the parameters of an authorization request.
type authRequest struct {
	clientID, redirectURI, responseType, responseMode, scope    string
	state, nonce, challenge, challengeMethod, prompt, loginHint string
}

func parseAuthRequest(v url.Values) authRequest {
	return authRequest{
		clientID:        v.Get("client_id"),
		redirectURI:     v.Get("redirect_uri"),
		responseType:    v.Get("response_type"),
		responseMode:    v.Get("response_mode"),
		scope:           v.Get("scope"),
		state:           v.Get("state"),
		nonce:           v.Get("nonce"),
		challenge:       v.Get("code_challenge"),
		challengeMethod: v.Get("code_challenge_method"),
		prompt:          v.Get("prompt"),
		loginHint:       v.Get("login_hint"),
	}
}

// authCode is an issued authorization code and what it is bound to.
type authCode struct {
	clientID, redirectURI, challenge, nonce, scope string
	user                                           int
	authTime, expires                              time.Time
	used                                           bool
}

// pendingRequest waits for the user to sign in.
type pendingRequest struct {
	req     authRequest
	expires time.Time
}

// opSession is the OP's own sign-in, which gives single sign-on.
type opSession struct {
	user              int
	authTime, expires time.Time
}

// requestParams reads a front-channel request's parameters, which may come
// by query (GET) or by form (POST); it answers the request itself and
// returns false when they cannot be read.
func (op *OP) requestParams(w http.ResponseWriter, r *http.Request, title string) (url.Values, bool) {
	switch r.Method {
	case http.MethodGet:
		return r.URL.Query(), true
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			op.renderMessage(w, http.StatusBadRequest, title, "The request form could not be read.")
			return nil, false
		}
		return r.PostForm, true
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil, false
	}
}

func (op *OP) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	params, ok := op.requestParams(w, r, "Bad authorization request")
	if !ok {
		return
	}
	op.mu.Lock()
	op.stats.AuthorizeRequests++
	op.stats.AuthorizeMethods = append(op.stats.AuthorizeMethods, r.Method)
	op.stats.AuthorizeParams = append(op.stats.AuthorizeParams, url.Values(http.Header(params).Clone()))
	failure := op.authorizeError
	op.mu.Unlock()

	req := parseAuthRequest(params)
	// Until client and redirect URI are known good, errors stay here: sending
	// them to an unchecked redirect URI would make the OP an open redirector.
	if msg := op.checkClient(req); msg != "" {
		op.renderMessage(w, http.StatusBadRequest, "Bad authorization request", msg)
		return
	}
	if failure[0] != "" {
		op.sendError(w, r, req, failure[0], failure[1])
		return
	}
	if code, desc := checkAuthRequest(req, params); code != "" {
		op.sendError(w, r, req, code, desc)
		return
	}

	if !op.opts.Interactive {
		op.approve(w, r, req, 0, op.now())
		return
	}
	prompts := strings.Fields(req.prompt)
	if sess, ok := op.session(r); ok && !slices.Contains(prompts, "login") {
		op.approve(w, r, req, sess.user, sess.authTime)
		return
	}
	if slices.Contains(prompts, "none") {
		op.sendError(w, r, req, "login_required", "the user is not signed in at the OP")
		return
	}
	id := op.addPending(req)
	op.renderSignIn(w, signInPage{RequestID: id, UserName: req.loginHint})
}

func (op *OP) checkClient(req authRequest) string {
	op.mu.Lock()
	allowed := slices.Clone(op.redirects)
	op.mu.Unlock()
	switch {
	case req.clientID == "":
		return "The client_id parameter is missing."
	case req.clientID != op.opts.ClientID:
		return fmt.Sprintf("The client_id %q is unknown.", req.clientID)
	case req.redirectURI == "":
		return "The redirect_uri parameter is missing."
	case !redirectAllowed(allowed, req.redirectURI):
		return fmt.Sprintf("The redirect_uri %q is not registered for this client.", req.redirectURI)
	}
	return ""
}

// redirectAllowed: exact match against the registered URIs, or any absolute
// https URL without fragment or user info when none are registered.
func redirectAllowed(registered []string, uri string) bool {
	if len(registered) > 0 {
		return slices.Contains(registered, uri)
	}
	u, err := url.Parse(uri)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.Fragment == "" && u.User == nil
}

// checkAuthRequest returns an OAuth error code and description, or "".
func checkAuthRequest(req authRequest, params url.Values) (string, string) {
	for name, vs := range params {
		if len(vs) > 1 {
			return "invalid_request", fmt.Sprintf("parameter %q given %d times", name, len(vs))
		}
	}
	switch {
	case req.responseMode != "" && req.responseMode != "query" && req.responseMode != "form_post":
		return "invalid_request", fmt.Sprintf("response_mode %q is not supported", req.responseMode)
	case req.responseType != "code":
		return "unsupported_response_type", fmt.Sprintf("response_type %q is not supported; only code is", req.responseType)
	case !slices.Contains(strings.Fields(req.scope), "openid"):
		return "invalid_scope", "scope must include openid"
	case req.state == "":
		return "invalid_request", "state is required"
	case req.nonce == "":
		return "invalid_request", "nonce is required"
	case req.challenge == "":
		return "invalid_request", "code_challenge is required"
	case req.challengeMethod != "S256":
		return "invalid_request", fmt.Sprintf("code_challenge_method %q is not supported; only S256 is", req.challengeMethod)
	}
	if b, err := base64.RawURLEncoding.DecodeString(req.challenge); err != nil || len(b) != 32 {
		return "invalid_request", "code_challenge is not a base64url SHA-256 hash"
	}
	return "", ""
}

// approve issues a code for user and sends it to the client.
func (op *OP) approve(w http.ResponseWriter, r *http.Request, req authRequest, user int, authTime time.Time) {
	code := rand.Text()
	now := op.now()
	op.mu.Lock()
	op.sweepLocked(now)
	c := &authCode{
		clientID:    req.clientID,
		redirectURI: req.redirectURI,
		challenge:   req.challenge,
		nonce:       req.nonce,
		scope:       req.scope,
		user:        user,
		authTime:    authTime,
		expires:     now.Add(codeLifetime),
	}
	op.codes[code] = c
	op.rememberLocked(rememberedCode, code, c.expires)
	op.mu.Unlock()
	op.sendResponse(w, r, req, url.Values{"code": {code}, "state": {req.state}})
}

func (op *OP) sendError(w http.ResponseWriter, r *http.Request, req authRequest, code, description string) {
	v := url.Values{"error": {code}}
	if description != "" {
		v.Set("error_description", description)
	}
	if req.state != "" {
		v.Set("state", req.state)
	}
	op.sendResponse(w, r, req, v)
}

// sendResponse delivers an authorization response by the requested mode;
// an unknown mode falls back to query, as the error about it must be sent.
func (op *OP) sendResponse(w http.ResponseWriter, r *http.Request, req authRequest, v url.Values) {
	w.Header().Set("Cache-Control", "no-store")
	if req.responseMode == "form_post" {
		names := make([]string, 0, len(v))
		for name := range v {
			names = append(names, name)
		}
		sort.Strings(names)
		page := formPostPage{Action: req.redirectURI}
		for _, name := range names {
			page.Fields = append(page.Fields, formField{Name: name, Value: v.Get(name)})
		}
		op.renderFormPost(w, page)
		return
	}
	u, err := url.Parse(req.redirectURI)
	if err != nil { // checked before; kept for safety
		op.renderMessage(w, http.StatusBadRequest, "Bad authorization request", "The redirect_uri cannot be parsed.")
		return
	}
	q := u.Query()
	for name, vs := range v {
		q[name] = vs
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (op *OP) addPending(req authRequest) string {
	id := rand.Text()
	now := op.now()
	op.mu.Lock()
	defer op.mu.Unlock()
	op.sweepLocked(now)
	p := &pendingRequest{req: req, expires: now.Add(pendingLifetime)}
	op.pending[id] = p
	op.rememberLocked(rememberedPending, id, p.expires)
	return id
}

// serveSignIn takes the sign-in form.
func (op *OP) serveSignIn(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		op.renderMessage(w, http.StatusBadRequest, "Bad sign-in request", "The sign-in form could not be read.")
		return
	}
	id, name, password := r.PostForm.Get("request"), r.PostForm.Get("username"), r.PostForm.Get("password")
	now := op.now()
	op.mu.Lock()
	p := op.pending[id]
	op.mu.Unlock()
	if p == nil || !now.Before(p.expires) {
		op.renderMessage(w, http.StatusBadRequest, "Sign-in expired", "This sign-in request is unknown or has expired. Go back to the application and sign in again.")
		return
	}
	user, ok := op.findUser(name, password)
	if !ok {
		op.renderSignIn(w, signInPage{RequestID: id, UserName: name, Error: "The user name or password is wrong."})
		return
	}
	op.mu.Lock()
	_, still := op.pending[id]
	delete(op.pending, id)
	op.mu.Unlock()
	if !still { // a second submit of the same form raced this one
		op.renderMessage(w, http.StatusBadRequest, "Sign-in expired", "This sign-in request has already been used. Go back to the application and sign in again.")
		return
	}
	op.startSession(w, user, now)
	op.approve(w, r, p.req, user, now)
}

func (op *OP) findUser(name, password string) (int, bool) {
	for i, u := range op.opts.Users {
		if strings.EqualFold(u.Name, name) && u.Password != "" &&
			subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) == 1 {
			return i, true
		}
	}
	return 0, false
}

func (op *OP) session(r *http.Request) (opSession, bool) {
	c, err := r.Cookie(sessionCookieName)
	if err != nil {
		return opSession{}, false
	}
	now := op.now()
	op.mu.Lock()
	defer op.mu.Unlock()
	s := op.sessions[c.Value]
	if s == nil || !now.Before(s.expires) {
		return opSession{}, false
	}
	return *s, true
}

func (op *OP) startSession(w http.ResponseWriter, user int, now time.Time) {
	id := rand.Text()
	op.mu.Lock()
	op.sweepLocked(now)
	s := &opSession{user: user, authTime: now, expires: now.Add(sessionLifetime)}
	op.sessions[id] = s
	op.rememberLocked(rememberedSession, id, s.expires)
	op.mu.Unlock()
	http.SetCookie(w, op.sessionCookie(id, int(sessionLifetime/time.Second)))
}

// sessionCookie is scoped to the authorization endpoint, so that a proxy on
// the same host (cookies ignore ports) never receives it nor forwards it.
// SameSite=None lets it travel with an authorization request POSTed from
// another site, as real providers' session cookies do.
func (op *OP) sessionCookie(value string, maxAge int) *http.Cookie {
	op.mu.Lock()
	issuer, base := op.issuer, op.basePath
	op.mu.Unlock()
	secure := strings.HasPrefix(issuer, "https:")
	c := &http.Cookie{
		Name:     sessionCookieName,
		Value:    value,
		Path:     base + AuthorizationPath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
	if secure {
		c.SameSite = http.SameSiteNoneMode
	}
	return c
}
