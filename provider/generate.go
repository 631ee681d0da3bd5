package provider

// The certificates, keys and WS-Federation metadata under
// testdata/provider that the tests read.
//go:generate go run ../internal/certgen -out ../testdata/provider
