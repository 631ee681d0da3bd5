package proxy

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/oidcgate/oidcgate/session"
	"github.com/oidcgate/oidcgate/store"
)

// signOut ends the session on every replica first: a mark for its id
// reaches the store, so a copy of the cookie is refused everywhere. Then
// it clears the cookie here and, with sign_out_from_sts, ends the session
// at the provider too: the browser goes to the end-session endpoint with
// the ID token as a hint and comes back to the site. A request the
// browser marks as sent from another site ends nothing: it only gets a
// page that asks.
func (a *authFlow) signOut(w http.ResponseWriter, r *http.Request, st *site) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		a.writeError(w, r, refuse(http.StatusMethodNotAllowed, "method", "Sign-out takes GET or POST.", nil))
		return
	}
	if crossSite(r, st) {
		// A third-party page could sign users out with a link or a form
		// (and, with sign_out_from_sts, send them to the provider with
		// their ID token as a hint). Nothing ends here: the page's button
		// sends the sign-out again, now from this site.
		a.log.Info("sign-out", "site", st.name, "result", "confirm", "reason", "cross_site")
		renderPage(w, http.StatusOK, page{
			Title:    "Sign out?",
			Message:  "Another site asked to sign you out of " + st.name + ". You are still signed in.",
			PostTo:   st.signOutPath,
			LinkText: "Sign out",
		})
		return
	}
	sess, err := st.sessions.Load(r)
	if err == nil && !a.store.Revoked(sessionIdentity(sess)) {
		// A session ended already gets no second mark: signing out again
		// and again with one cookie must not grow the store.
		a.revoke(r, st, sess)
	}
	st.sessions.Clear(w, r)
	w.Header().Set("Cache-Control", "no-store")
	if a.opts.SignOutFromSTS {
		if target := a.endSessionURL(st, sess); target != "" {
			a.log.Info("sign-out", "site", st.name, "at_provider", true)
			http.Redirect(w, r, target, http.StatusFound)
			return
		}
	}
	a.log.Info("sign-out", "site", st.name, "at_provider", false)
	renderPage(w, http.StatusOK, page{
		Title:    "You are signed out",
		Message:  "You have been signed out of " + st.name + ".",
		Link:     st.prefix,
		LinkText: "Sign in again",
	})
}

// revoke marks sess as ended everywhere. While the store cannot be reached
// the mark applies here at once and reaches the store when it is back.
func (a *authFlow) revoke(r *http.Request, st *site, sess *session.Session) {
	err := a.store.Revoke(context.WithoutCancel(r.Context()), store.SessionMark(sess.ID[:]))
	switch {
	case err == nil:
		a.metrics.revoked(revokedBySignOut)
	case errors.Is(err, store.ErrUnavailable):
		a.metrics.revoked(revokedBySignOut)
		a.log.Warn("sign-out: the store cannot be reached; the session ended on this replica now and ends on the others when the store is back", "site", st.name)
	default:
		a.log.Error("sign-out: the session could not be marked as ended; its cookie was cleared", "site", st.name, "error", err.Error())
	}
}

// endSessionURL is the provider's end-session endpoint (discovered, or
// logout_endpoint) with id_token_hint and post_logout_redirect_uri; "" when
// the provider has none.
func (a *authFlow) endSessionURL(st *site, sess *session.Session) string {
	ep, err := a.provider.Endpoints()
	if err != nil || ep.EndSession == "" {
		return ""
	}
	target, err := url.Parse(ep.EndSession)
	if err != nil {
		return ""
	}
	q := target.Query()
	q.Set("client_id", a.opts.ClientID)
	q.Set("post_logout_redirect_uri", st.baseURL)
	if sess != nil && sess.IDToken != "" {
		q.Set("id_token_hint", sess.IDToken)
	}
	target.RawQuery = q.Encode()
	return target.String()
}

// accessDenied is the page a signed-in user without a matching claims rule
// lands on. It shows the request id of the denied sign-in (its signin
// parameter, when it is a sane id), which is the one its log line has.
func accessDenied(w http.ResponseWriter, r *http.Request, st *site) {
	p := page{
		Title:    "Access denied",
		Message:  "Your account is not allowed to use " + st.name + ". If you think it should be, ask your administrator to grant access.",
		Status:   http.StatusForbidden,
		Link:     st.signOutPath,
		LinkText: "Sign in as someone else",
	}
	if id := r.URL.Query().Get("signin"); id != "" && requestID(id) == id {
		p.RequestID = id
	}
	renderPage(w, http.StatusForbidden, p)
}
