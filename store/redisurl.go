package store

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeouts of the shared store: a call that takes longer counts as an
// outage, so a hung Redis never holds up a sign-in for long.
const (
	dialTimeout = 2 * time.Second
	ioTimeout   = 2 * time.Second
)

// CheckURL reports what is wrong with a store URL: redis://host:port/db,
// rediss://… (TLS) or unix:///path?db=N. It does not connect.
func CheckURL(raw string) error {
	_, err := clientOptions(RedisOptions{URL: raw})
	return err
}

// clientOptions turns o into the Redis client's options.
func clientOptions(o RedisOptions) (*redis.Options, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		// url.Parse quotes the whole URL, password included.
		return nil, fmt.Errorf("store: url is not a URL")
	}
	switch u.Scheme {
	case "redis", "rediss":
		if u.Host == "" {
			return nil, fmt.Errorf("store: url %s needs a host", u.Redacted())
		}
	case "unix":
		if u.Path == "" {
			return nil, fmt.Errorf("store: url %s needs a socket path (unix:///run/redis/redis.sock)", u.Redacted())
		}
	default:
		return nil, fmt.Errorf("store: url %s: scheme must be redis, rediss or unix", u.Redacted())
	}
	ro, err := redis.ParseURL(o.URL)
	if err != nil {
		// The client's messages may repeat the URL; name it ourselves.
		msg := err.Error()
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
		return nil, fmt.Errorf("store: url %s: %s", u.Redacted(), msg)
	}
	if o.Password != "" {
		ro.Password = o.Password
	}
	if ro.TLSConfig != nil {
		base := o.TLSConfig
		if base == nil {
			base = &tls.Config{}
		}
		c := base.Clone()
		c.ServerName = ro.TLSConfig.ServerName
		c.MinVersion = max(c.MinVersion, tls.VersionTLS12)
		ro.TLSConfig = c
	}
	ro.DialTimeout = dialTimeout
	ro.ReadTimeout = ioTimeout
	ro.WriteTimeout = ioTimeout
	ro.ContextTimeoutEnabled = true
	// The follower retries by itself; a failed call is better reported at
	// once than retried while a sign-in waits.
	ro.MaxRetries = -1
	// RESP2 and no CLIENT SETINFO: one round trip fewer per connection,
	// and nothing the store needs from RESP3.
	ro.Protocol = 2
	ro.DisableIdentity = true
	return ro, nil
}
