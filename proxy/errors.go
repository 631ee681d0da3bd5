package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Error is a refusal or failure with what the user may read (Public) kept
// apart from what only the log may read (Err). Reason is a fixed label for
// logs and metrics, never built from request data.
type Error struct {
	Status int
	Reason string
	Public string
	Err    error
	// Title is the page heading; "" means the one for Status.
	Title string
	// Admin: the refusal comes from how oidcgate or the provider is set up
	// (a wrong client secret, an unregistered redirect URI, a key no source
	// holds), so trying again cannot help: the page sends the user to their
	// administrator, with the request id and time to quote.
	Admin bool
	// Retry, when set, is where trying again starts; the page links to it.
	Retry string
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return fmt.Sprintf("%s: %v", e.Reason, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// refuse builds an *Error; handlers return it and writeError renders it.
func refuse(status int, reason, public string, cause error) error {
	return &Error{Status: status, Reason: reason, Public: public, Err: cause}
}

// refuseAdmin is refuse for a refusal that only an administrator can fix.
func refuseAdmin(status int, reason, public string, cause error) error {
	return &Error{Status: status, Reason: reason, Public: public, Err: cause, Admin: true}
}

// withRetry gives err, when it is an *Error that trying again may cure, a
// link to try again at target.
func withRetry(err error, target string) error {
	var e *Error
	if errors.As(err, &e) && !e.Admin && e.Retry == "" {
		e.Retry = target
	}
	return err
}

// adminWords end the page of a refusal caused by configuration.
const adminWords = " This is a problem with how sign-in is set up, not with your account, and trying again will not help: please contact your administrator and tell them the request id and time below."

// titles are the page headings for each status a user can meet.
var titles = map[int]string{
	http.StatusBadRequest:                  "Sign-in could not be completed",
	http.StatusUnauthorized:                "Sign-in refused",
	http.StatusForbidden:                   "Access denied",
	http.StatusNotFound:                    "Not found",
	http.StatusMethodNotAllowed:            "Method not allowed",
	http.StatusRequestEntityTooLarge:       "Request too large",
	http.StatusRequestHeaderFieldsTooLarge: "Request headers too large",
	http.StatusBadGateway:                  "The service behind this page did not answer properly",
	http.StatusServiceUnavailable:          "Sign-in is not available right now",
	http.StatusGatewayTimeout:              "The service behind this page took too long",
}

// errorWriter renders errors as pages and logs them; the server and the
// sign-in flow share one.
type errorWriter struct{ log *slog.Logger }

// writeError is the one place that turns an error into a response: an HTML
// page with the public reason in words, and one log line with the private
// cause. Errors that are not *Error become a bare 500.
func (ew errorWriter) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ew.writeErrorLink(w, r, err, "", "")
}

// writeErrorLink is writeError with a button on the page.
func (ew errorWriter) writeErrorLink(w http.ResponseWriter, r *http.Request, err error, link, linkText string) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Reason: "internal", Public: "Something went wrong inside oidcgate. The problem has been logged.", Err: err}
	}
	level := slog.LevelInfo
	switch {
	case e.Status >= 500:
		level = slog.LevelError
	case e.Status == http.StatusBadRequest || e.Status == http.StatusUnauthorized:
		level = slog.LevelWarn
	case e.Reason == "no_site" && noSiteNoise(r.URL.Path):
		level = slog.LevelDebug
	}
	ew.log.LogAttrs(r.Context(), level, "request refused",
		slog.Int("status", e.Status),
		slog.String("reason", e.Reason),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("request_id", r.Header.Get("X-Request-Id")),
		slog.Bool("configuration", e.Admin),
		slog.Any("cause", errString(e.Err)),
	)
	title := e.Title
	if title == "" {
		title = titles[e.Status]
	}
	if title == "" {
		title = http.StatusText(e.Status)
	}
	message := e.Public
	switch {
	case e.Admin:
		message += adminWords
		link, linkText = "", ""
	case link == "" && e.Retry != "":
		link, linkText = e.Retry, "Try again"
	}
	renderPage(w, e.Status, page{Title: title, Message: message, Status: e.Status, Link: link, LinkText: linkText})
}

// errString keeps nil causes out of the log as "<nil>" strings.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
