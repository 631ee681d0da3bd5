package proxy

import (
	"bufio"
	"crypto/rand"
	"net"
	"net/http"
)

// logWriter remembers the status a handler wrote, for the request's log
// line and metrics. Unwrap lets http.ResponseController reach the
// connection underneath (flushing, and hijacking for websockets).
type logWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	err         error // the first failed write
}

// WriteHeader keeps the final status, or 101 for a websocket upgrade (the
// connection is the backend's after it).
func (w *logWriter) WriteHeader(code int) {
	if !w.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
		w.wroteHeader = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.wroteHeader = true
	n, err := w.ResponseWriter.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// outcome is the status and outcome for the request's log line: a response
// cut off by write_timeout is logged as 504 "write_timeout", whatever
// status went out before the cut.
func (w *logWriter) outcome(aborted bool) (int, string) {
	switch {
	case w.err != nil && isTimeout(w.err):
		return http.StatusGatewayTimeout, "write_timeout"
	case aborted:
		return w.status, "aborted"
	}
	return w.status, ""
}

// Hijack hands the connection over for a websocket: ReverseProxy then
// writes the backend's 101 on the connection itself, so it is noted here.
func (w *logWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusSwitchingProtocols, true
	}
	return conn, rw, err
}

func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// maxRequestIDLen bounds a request id taken from a client: a UUID is 36
// characters, an nginx $request_id 32.
const maxRequestIDLen = 64

// requestID keeps a load balancer's X-Request-Id when it is a short id of
// letters, digits, '-', '_' and '.', and makes a new one otherwise, so a
// request can be followed from the load balancer to the backend. Anything
// else a client sends there (quotes, spaces, '%', markup, a megabyte) would
// go into the log, the backend's logs and its pages as it is.
func requestID(given string) string {
	if given == "" || len(given) > maxRequestIDLen {
		return rand.Text()
	}
	for i := 0; i < len(given); i++ {
		c := given[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return rand.Text()
		}
	}
	return given
}
