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

// requestID keeps a client's or load balancer's X-Request-Id when it is a
// short token of visible characters, and makes a new one otherwise, so a
// request can be followed from the load balancer to the backend.
func requestID(given string) string {
	if given != "" && len(given) <= 128 {
		ok := true
		for i := 0; i < len(given); i++ {
			if c := given[i]; c <= ' ' || c > '~' || c == '"' || c == '\\' {
				ok = false
				break
			}
		}
		if ok {
			return given
		}
	}
	return rand.Text()
}
