package fakeop

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// serveEndSession ends the OP session (RP-initiated logout): the session
// cookie is cleared, then the browser goes to post_logout_redirect_uri with
// the state echoed, or sees a small signed-out page.
func (op *OP) serveEndSession(w http.ResponseWriter, r *http.Request) {
	params, ok := op.requestParams(w, r, "Bad sign-out request")
	if !ok {
		return
	}
	op.mu.Lock()
	op.stats.EndSessionRequests++
	op.stats.EndSessionParams = append(op.stats.EndSessionParams, url.Values(http.Header(params).Clone()))
	allowed := slices.Clone(op.logoutRedirects)
	op.mu.Unlock()

	http.SetCookie(w, op.sessionCookie("", -1))
	w.Header().Set("Cache-Control", "no-store")
	target := params.Get("post_logout_redirect_uri")
	if target == "" {
		op.renderMessage(w, http.StatusOK, "Signed out", "You are signed out of the development OpenID provider. You can close this window.")
		return
	}
	u, err := url.Parse(target)
	if err != nil || !redirectAllowed(allowed, target) {
		op.renderMessage(w, http.StatusBadRequest, "Bad sign-out request",
			fmt.Sprintf("You are signed out, but the post_logout_redirect_uri %q is not registered, so the OP will not send you there.", target))
		return
	}
	if state := params.Get("state"); state != "" {
		q := u.Query()
		q.Set("state", state)
		u.RawQuery = q.Encode()
	}
	http.Redirect(w, r, u.String(), http.StatusFound)
}
