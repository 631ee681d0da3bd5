package config

import (
	"net/url"
	"slices"
	"strings"
)

// BaseURL returns the parsed base_url, or nil when it does not parse
// (Validate reports that).
func (s Site) BaseURL() *url.URL { return parseURL(s.RawBaseURL) }

// Upstream returns the parsed upstream URL, or nil when it does not parse
// (Validate reports that).
func (s Site) Upstream() *url.URL { return parseURL(s.RawUpstream) }

// Resolve turns an application path such as the authentication URLs into an
// absolute path on this site: "~/" stands for the site's base path, so
// "~/oidcServices/Signininitiation" on https://host/Administration/ is
// "/Administration/oidcServices/Signininitiation". Other paths are returned
// as they are.
func (s Site) Resolve(appPath string) string {
	rest, ok := strings.CutPrefix(appPath, "~/")
	if !ok {
		return appPath
	}
	base := "/"
	if u := s.BaseURL(); u != nil && strings.HasSuffix(u.Path, "/") {
		base = u.Path
	}
	return base + rest
}

// AllScopes returns the scopes to request: "openid" first, whether or not
// the file lists it, then the others in their order, without repeats.
func (o OpenIDConnect) AllScopes() []string {
	all := []string{"openid"}
	for _, s := range o.Scopes {
		if s != "" && !slices.Contains(all, s) {
			all = append(all, s)
		}
	}
	return all
}

func parseURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() {
		return nil
	}
	return u
}
