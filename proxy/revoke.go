package proxy

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/oidcgate/oidcgate/store"
)

// revokeHandler serves POST /sessions/revoke on the admin listener: a form
// with subject=SUB (and optionally issuer=ISS; else the provider's issuer)
// or all=true ends, on every replica, the sessions that exist now. It
// answers 200 with {"marks":N}; 400 for a form that names nothing or too
// much; 503 when the mark applies here but could not reach the shared
// store (it is sent when the store is back). counted is called for each
// mark that applies.
func revokeHandler(st store.Store, issuer func() string, counted func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			writeRevoke(w, http.StatusBadRequest, 0, "the body must be a form: subject=SUB[&issuer=ISS] or all=true")
			return
		}
		m, msg := revokeMark(r.PostForm.Get("subject"), r.PostForm.Get("issuer"), r.PostForm.Get("all"), issuer)
		if msg != "" {
			writeRevoke(w, http.StatusBadRequest, 0, msg)
			return
		}
		err := st.Revoke(r.Context(), m)
		switch {
		case errors.Is(err, store.ErrUnavailable):
			counted()
			writeRevoke(w, http.StatusServiceUnavailable, 1, "the store cannot be reached: the mark applies on this replica now and reaches the others when the store is back")
		case err != nil:
			writeRevoke(w, http.StatusInternalServerError, 0, "the mark could not be written")
		default:
			counted()
			writeRevoke(w, http.StatusOK, 1, "")
		}
	})
}

// revokeMark turns the form's fields into a mark, or says what is wrong.
func revokeMark(subject, issuer, all string, defaultIssuer func() string) (store.Mark, string) {
	switch {
	case all != "" && (subject != "" || issuer != ""):
		return store.Mark{}, "give subject (with an optional issuer) or all=true, not both"
	case all != "":
		if !strings.EqualFold(all, "true") {
			return store.Mark{}, "all must be true"
		}
		return store.AllMark(), ""
	case subject == "":
		return store.Mark{}, "give subject=SUB (with an optional issuer=ISS) or all=true"
	}
	if issuer == "" {
		issuer = defaultIssuer()
	}
	if issuer == "" {
		return store.Mark{}, "the provider's issuer is not known yet: give issuer=ISS"
	}
	return store.SubjectMark(issuer, subject), ""
}

func writeRevoke(w http.ResponseWriter, status, marks int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	body := struct {
		Marks int    `json:"marks"`
		Error string `json:"error,omitempty"`
	}{marks, msg}
	json.NewEncoder(w).Encode(body)
}
