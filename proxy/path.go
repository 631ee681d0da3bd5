package proxy

import (
	"net/http"
	"net/url"
	"strings"
)

// cleanRequestPath resolves the request's "." and ".." segments the way a
// browser does before the request is routed, so that the site chosen and
// the path forwarded are the same path the backend will act on. What a
// browser would never send, and what backends disagree about, is refused:
// an encoded dot (%2e), an encoded slash or backslash (%2f, %5c), a
// backslash, and a dot segment carrying parameters ("..;/", which Java
// servers read as ".."). After it, r.URL.Path and r.URL.RawPath are the
// cleaned path.
func cleanRequestPath(r *http.Request) error {
	esc := r.URL.EscapedPath()
	if why := pathProblem(esc); why != "" {
		return pathRefused("The address of this request is not allowed: "+why+".", nil)
	}
	cleaned := resolveDots(esc)
	if cleaned == esc {
		return nil
	}
	path, err := url.PathUnescape(cleaned)
	if err != nil {
		return pathRefused("The address of this request could not be read.", err)
	}
	r.URL.Path, r.URL.RawPath = path, ""
	if r.URL.EscapedPath() != cleaned {
		r.URL.RawPath = cleaned
	}
	return nil
}

func pathRefused(public string, cause error) error {
	return &Error{Status: http.StatusBadRequest, Reason: "path_refused", Public: public, Err: cause, Title: "Address not allowed"}
}

// pathProblem names what makes an escaped request path unacceptable, or
// returns "".
func pathProblem(esc string) string {
	if !strings.HasPrefix(esc, "/") {
		return "it does not start with /"
	}
	for i := 0; i < len(esc); i++ {
		switch c := esc[i]; {
		case c == '\\':
			return "it contains a backslash"
		case c == '%' && i+2 < len(esc):
			switch strings.ToLower(esc[i+1 : i+3]) {
			case "2e":
				return "it contains an encoded dot (%2e)"
			case "2f":
				return "it contains an encoded slash (%2f)"
			case "5c":
				return "it contains an encoded backslash (%5c)"
			}
		}
	}
	for seg := range strings.SplitSeq(esc, "/") {
		if name, _, ok := strings.Cut(seg, ";"); ok && (name == "." || name == "..") {
			return "it contains a dot segment with parameters"
		}
	}
	return ""
}

// resolveDots removes "." and ".." segments from an absolute path as the
// URL Standard's path parser does: ".." drops the segment before it (never
// above the root), and a dot segment at the end leaves a trailing slash.
// Encoded dots are refused before, so only literal ones are dot segments
// here.
func resolveDots(p string) string {
	if !strings.Contains(p, "/.") {
		return p
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		last := i == len(segs)-1
		switch seg {
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		case ".":
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/")
}
