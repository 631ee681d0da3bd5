package proxy

import (
	"crypto/rand"
	"net/http"
)

// logWriter remembers the status a handler wrote, for the request's log
// line and metrics. Unwrap lets http.ResponseController reach the
// connection underneath (flushing, and hijacking for websockets).
type logWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *logWriter) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 {
		w.status = code
		w.wroteHeader = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(p)
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
