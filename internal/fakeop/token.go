package fakeop

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// accessToken is an issued access token, good at the userinfo endpoint.
type accessToken struct {
	user    int
	expires time.Time
}

// tokenError is an error answer of the token endpoint (RFC 6749 section 5.2).
type tokenError struct {
	status            int
	code, description string
}

func (op *OP) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeTokenError(w, tokenError{http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeTokenError(w, tokenError{http.StatusBadRequest, "invalid_request", "the form cannot be read"})
		return
	}
	method, id, secret := clientCredentials(r)
	op.mu.Lock()
	op.stats.TokenRequests++
	op.stats.TokenAuthMethods = append(op.stats.TokenAuthMethods, method)
	hook := op.tokenHook
	op.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}

	id, e := op.authenticateClient(method, id, secret, r.PostForm)
	if e != nil {
		writeTokenError(w, *e)
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
	case "client_credentials":
		// Machine to machine: a token for the client itself.
		w.Header().Set("Pragma", "no-cache")
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": rand.Text() + rand.Text(),
			"token_type":   "Bearer",
			"expires_in":   int(tokenLifetime / time.Second),
			"scope":        r.PostForm.Get("scope"),
		})
		return
	default:
		writeTokenError(w, tokenError{http.StatusBadRequest, "unsupported_grant_type", "grant_type " + strconv.Quote(gt) + " is not supported; only authorization_code and client_credentials are"})
		return
	}
	c, e := op.redeem(id, r.PostForm)
	if e != nil {
		writeTokenError(w, *e)
		return
	}

	at := rand.Text() + rand.Text()
	u := &op.opts.Users[c.user]
	idToken, err := op.signIDToken(u, c, at)
	if err != nil {
		writeTokenError(w, tokenError{http.StatusInternalServerError, "server_error", err.Error()})
		return
	}
	now := op.now()
	op.mu.Lock()
	op.sweepLocked(now)
	t := &accessToken{user: c.user, expires: now.Add(tokenLifetime)}
	op.accessTokens[at] = t
	op.rememberLocked(rememberedAccessToken, at, t.expires)
	op.mu.Unlock()
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": at,
		"token_type":   "Bearer",
		"expires_in":   int(tokenLifetime / time.Second),
		"id_token":     idToken,
		"scope":        c.scope,
	})
}

// clientCredentials says how the client authenticated and with what. Basic
// credentials are form-encoded before base64 (RFC 6749 section 2.3.1).
func clientCredentials(r *http.Request) (method, id, secret string) {
	bid, bsecret, basic := r.BasicAuth()
	_, post := r.PostForm["client_secret"]
	_, assertion := r.PostForm["client_assertion"]
	_, assertionType := r.PostForm["client_assertion_type"]
	if assertion || assertionType {
		method = assertionMethod(r.PostForm.Get("client_assertion"))
		if basic {
			method = ClientSecretBasic + "+" + method
		}
		if post {
			method = ClientSecretPost + "+" + method
		}
		return method, r.PostForm.Get("client_id"), ""
	}
	switch {
	case basic && post:
		return ClientSecretBasic + "+" + ClientSecretPost, "", ""
	case basic:
		return ClientSecretBasic, formUnescape(bid), formUnescape(bsecret)
	case post:
		return ClientSecretPost, r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	default:
		return "none", r.PostForm.Get("client_id"), ""
	}
}

func formUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// authenticateClient checks the client's authentication and returns its id.
func (op *OP) authenticateClient(method, id, secret string, form url.Values) (string, *tokenError) {
	formID := form.Get("client_id")
	assertion := strings.HasSuffix(method, "_jwt")
	switch {
	case method == "none":
		return "", &tokenError{http.StatusUnauthorized, "invalid_client", "client authentication is required"}
	case assertion && strings.Contains(method, "+"):
		return "", &tokenError{http.StatusUnauthorized, "invalid_client", "a client assertion must not come with a client secret"}
	case strings.Contains(method, "+"):
		return "", &tokenError{http.StatusBadRequest, "invalid_request", "more than one client authentication method"}
	case op.opts.TokenAuthMethod != "" && method != op.opts.TokenAuthMethod:
		return "", &tokenError{http.StatusUnauthorized, "invalid_client", "this client must authenticate with " + op.opts.TokenAuthMethod + ", not " + method}
	case assertion:
		var e *tokenError
		if id, e = op.verifyAssertion(method, form); e != nil {
			return "", e
		}
	case id != op.opts.ClientID || op.opts.ClientSecret == "" ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(op.opts.ClientSecret)) != 1:
		return "", &tokenError{http.StatusUnauthorized, "invalid_client", "client authentication failed"}
	}
	if formID != "" && formID != id {
		return "", &tokenError{http.StatusUnauthorized, "invalid_client", "client_id in the body differs from the authenticated client"}
	}
	return id, nil
}

// redeem checks the code against everything it is bound to and uses it up.
func (op *OP) redeem(clientID string, form url.Values) (*authCode, *tokenError) {
	bad := func(desc string) *tokenError { return &tokenError{http.StatusBadRequest, "invalid_grant", desc} }
	code, verifier := form.Get("code"), form.Get("code_verifier")
	now := op.now()
	op.mu.Lock()
	defer op.mu.Unlock()
	c := op.codes[code]
	switch {
	case code == "":
		return nil, &tokenError{http.StatusBadRequest, "invalid_request", "code is missing"}
	case c == nil:
		return nil, bad("unknown or expired code")
	case c.used && !op.codeReuse:
		return nil, bad("code already used")
	case !now.Before(c.expires):
		return nil, bad("code expired")
	case c.clientID != clientID:
		return nil, bad("code was issued to another client")
	case form.Get("redirect_uri") != c.redirectURI:
		return nil, bad("redirect_uri differs from the authorization request's")
	case verifier == "":
		return nil, bad("code_verifier is missing")
	case !pkceMatches(verifier, c.challenge):
		return nil, bad("code_verifier does not match the code_challenge")
	}
	c.used = true
	cp := *c
	return &cp, nil
}

func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

func writeTokenError(w http.ResponseWriter, e tokenError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="fakeop"`)
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.description})
}

func (op *OP) serveUserInfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	now := op.now()
	op.mu.Lock()
	op.stats.UserInfoRequests++
	fail, sub := op.failUserInfo, op.userInfoSub
	op.mu.Unlock()
	if fail != 0 {
		http.Error(w, "fakeop: failing on purpose", fail)
		return
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	op.mu.Lock()
	t := op.accessTokens[token]
	op.mu.Unlock()
	if !strings.EqualFold(scheme, "Bearer") || t == nil || !now.Before(t.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "the access token is missing, unknown or expired"})
		return
	}
	u := &op.opts.Users[t.user]
	claims := cloneMap(u.Claims)
	if claims == nil {
		claims = map[string]any{}
	}
	claims["sub"] = u.subject()
	if sub != "" {
		claims["sub"] = sub
	}
	writeJSON(w, http.StatusOK, claims)
}
