package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"

	"github.com/oidcgate/oidcgate/provider"
	"github.com/oidcgate/oidcgate/store"
)

// maxLogoutBody bounds a back-channel logout request's form: one token of
// a few kilobytes.
const maxLogoutBody = 64 << 10

// logoutOutcome is what one logout request led to, for its log line.
type logoutOutcome struct {
	outcome string // ended, ended_here_only, refused, ignored, failed
	reason  string
	mark    store.Kind
}

// backChannelLogout serves <base_url>oidcServices/backchannellogout: the
// provider posts a logout token, and the sessions it names end on every
// replica. See "Logout from the provider" in the contract.
func (s *Server) backChannelLogout(w http.ResponseWriter, r *http.Request, st *site) {
	w.Header().Set("Cache-Control", "no-store")
	res := s.backChannel(w, r)
	s.logLogout(r, st, "back", res)
}

func (s *Server) backChannel(w http.ResponseWriter, r *http.Request) logoutOutcome {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeLogoutError(w, http.StatusMethodNotAllowed, "invalid_request", "Back-channel logout takes POST.")
		return logoutOutcome{outcome: "refused", reason: "method"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutBody)
	if err := r.ParseForm(); err != nil {
		writeLogoutError(w, http.StatusBadRequest, "invalid_request", "The body must be a form with logout_token.")
		return logoutOutcome{outcome: "refused", reason: "form"}
	}
	raw := r.PostForm.Get("logout_token")
	if raw == "" {
		writeLogoutError(w, http.StatusBadRequest, "invalid_request", "The form has no logout_token.")
		return logoutOutcome{outcome: "refused", reason: "logout_token_missing"}
	}
	ctx := r.Context()
	tok, err := s.auth.provider.VerifyLogout(ctx, raw)
	if err != nil {
		reason := "invalid"
		var le *provider.LogoutError
		if errors.As(err, &le) {
			reason = string(le.Reason)
			if le.Reason == provider.ReasonKeysUnavailable {
				writeLogoutError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The provider's signing keys cannot be loaded right now.")
				return logoutOutcome{outcome: "failed", reason: reason}
			}
		}
		// The description names the check, never the token's content.
		writeLogoutError(w, http.StatusBadRequest, "invalid_request", "The logout token failed a check ("+reason+").")
		return logoutOutcome{outcome: "refused", reason: reason}
	}
	if err := s.store.Reserve(ctx, logoutTokenKey(tok), tok.Window); errors.Is(err, store.ErrTaken) {
		writeLogoutError(w, http.StatusBadRequest, "invalid_request", "The logout token was used before (jti).")
		return logoutOutcome{outcome: "refused", reason: "replayed"}
	} else if err != nil && !errors.Is(err, store.ErrUnavailable) {
		writeLogoutError(w, http.StatusInternalServerError, "server_error", "The logout token could not be recorded as used.")
		return logoutOutcome{outcome: "failed", reason: "reserve"}
	}
	// With the shared store unreachable, the jti is single use on this
	// replica only; the mark below then answers 503 anyway.
	m := store.SubjectMark(tok.Issuer, tok.Subject)
	if tok.SID != "" {
		m = store.ProviderMark(tok.Issuer, tok.SID)
	}
	res, status := s.revoke(ctx, m, revokedByBackChannel)
	switch status {
	case http.StatusOK:
		w.WriteHeader(http.StatusOK)
	case http.StatusServiceUnavailable:
		writeLogoutError(w, status, "temporarily_unavailable", "The session store cannot be reached: the sessions ended on this replica only.")
	default:
		writeLogoutError(w, status, "server_error", "The sessions could not be ended.")
	}
	return res
}

// logoutTokenKey is the reservation that makes a jti single use; jtis are
// unique per issuer.
func logoutTokenKey(tok provider.LogoutToken) string {
	return "logout-token\x00" + tok.Issuer + "\x00" + tok.TokenID
}

// revoke writes m, counts it under source, and says how it went.
func (s *Server) revoke(ctx context.Context, m store.Mark, source string) (logoutOutcome, int) {
	err := s.store.Revoke(ctx, m)
	switch {
	case errors.Is(err, store.ErrUnavailable):
		s.metrics.revoked(source)
		return logoutOutcome{outcome: "ended_here_only", reason: "store_unavailable", mark: m.Kind}, http.StatusServiceUnavailable
	case err != nil:
		return logoutOutcome{outcome: "failed", reason: "revoke", mark: m.Kind}, http.StatusInternalServerError
	}
	s.metrics.revoked(source)
	return logoutOutcome{outcome: "ended", mark: m.Kind}, http.StatusOK
}

// frontChannelLogout serves <base_url>oidcServices/frontchannellogout, which
// the provider loads in an iframe: with sid (and iss) it ends the
// provider's session everywhere; with neither, this browser's session.
func (s *Server) frontChannelLogout(w http.ResponseWriter, r *http.Request, st *site) {
	res := s.frontChannel(w, r, st)
	s.logLogout(r, st, "front", res)
}

func (s *Server) frontChannel(w http.ResponseWriter, r *http.Request, st *site) logoutOutcome {
	ep, epErr := s.auth.provider.Endpoints()
	csp := "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors " + frameAncestor(ep.Authorization)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeHTML(w, http.StatusMethodNotAllowed, csp, frontChannelPage("Front-channel logout takes GET."))
		return logoutOutcome{outcome: "refused", reason: "method"}
	}
	q := r.URL.Query()
	iss, sid := q.Get("iss"), q.Get("sid")
	var m store.Mark
	switch {
	case epErr != nil && (iss != "" || sid != ""):
		writeHTML(w, http.StatusOK, csp, frontChannelPage("Signed out."))
		return logoutOutcome{outcome: "ignored", reason: "issuer_unknown"}
	case iss != "" && iss != ep.Issuer:
		writeHTML(w, http.StatusOK, csp, frontChannelPage("Signed out."))
		return logoutOutcome{outcome: "ignored", reason: "issuer"}
	case sid != "":
		m = store.ProviderMark(ep.Issuer, sid)
	case crossSite(r, st):
		// No sid, and sent from another site: a link or form there, since
		// the provider's cross-site iframe carries no SameSite=Lax cookie.
		// Ending the session would let any page sign users out.
		writeHTML(w, http.StatusOK, csp, frontChannelPage("Nothing was signed out: this request came from another site."))
		return logoutOutcome{outcome: "ignored", reason: "cross_site"}
	default:
		// No sid: the session of the browser that loaded the page.
		sess, err := st.sessions.Load(r)
		if err != nil {
			writeHTML(w, http.StatusOK, csp, frontChannelPage("Signed out."))
			return logoutOutcome{outcome: "ignored", reason: "no_session"}
		}
		st.sessions.Clear(w, r)
		m = store.SessionMark(sess.ID[:])
	}
	res, _ := s.revoke(r.Context(), m, revokedByFrontChannel)
	writeHTML(w, http.StatusOK, csp, frontChannelPage("Signed out."))
	return res
}

// frameAncestor is the origin of the provider's authorization endpoint,
// the only page allowed to frame the front-channel logout; 'none' while it
// is not known.
func frameAncestor(authorization string) string {
	u, err := url.Parse(authorization)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "'none'"
	}
	return u.Scheme + "://" + u.Host
}

var frontChannelTemplate = template.Must(template.New("frontchannel").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head>
<body><p>{{.}}</p></body></html>
`))

func frontChannelPage(msg string) []byte {
	var b bytes.Buffer
	frontChannelTemplate.Execute(&b, msg)
	return b.Bytes()
}

// logLogout writes the one log line of a logout request: its outcome and
// why, never the token.
func (s *Server) logLogout(r *http.Request, st *site, channel string, res logoutOutcome) {
	attrs := []any{"channel", channel, "site", st.name, "outcome", res.outcome, "request_id", r.Header.Get("X-Request-Id")}
	if res.reason != "" {
		attrs = append(attrs, "reason", res.reason)
	}
	if res.mark != 0 {
		attrs = append(attrs, "mark", res.mark.String())
	}
	switch res.outcome {
	case "ended":
		s.log.Info("logout", attrs...)
	default:
		s.log.Warn("logout", attrs...)
	}
}

// writeLogoutError is the back-channel's JSON error answer.
func writeLogoutError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{code, description})
}
