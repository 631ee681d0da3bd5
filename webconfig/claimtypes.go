package webconfig

import "strings"

// claimTypeURIs maps the claim type URIs .NET gives the claims of a JSON
// web token (JwtSecurityTokenHandler's inbound claim type map) back to the
// names the ID token carries, which are what oidcgate matches.
var claimTypeURIs = map[string]string{
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress":         "email",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":                  "upn",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name":                 "unique_name",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier":       "sub",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname":            "given_name",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname":              "family_name",
	"http://schemas.microsoft.com/identity/claims/objectidentifier":              "oid",
	"http://schemas.microsoft.com/ws/2008/06/identity/claims/windowsaccountname": "winaccountname",
}

// claimName returns the ID token claim name for a web.config claimType,
// and whether it was translated from a URI.
func claimName(claimType string) (string, bool) {
	if n, ok := claimTypeURIs[strings.ToLower(strings.TrimSpace(claimType))]; ok {
		return n, true
	}
	return strings.TrimSpace(claimType), false
}
