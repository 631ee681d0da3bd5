package proxy

import (
	"fmt"

	"github.com/oidcgate/oidcgate/config"
	"github.com/oidcgate/oidcgate/session"
)

type codecChoice struct {
	codec     *session.Codec
	generated bool // no key configured: a random one for this process only
}

// sessionCodec picks the cookie keys: [session] keys (first encodes, all
// decode), or one key derived from a Cora SeQuence web.config's cookie key and
// initialization vector, or a random key when neither is set.
func sessionCodec(sc config.Session) (codecChoice, error) {
	keys, generated, err := cookieKeys(sc)
	if err != nil {
		return codecChoice{}, err
	}
	codec, err := session.NewCodec(keys)
	if err != nil {
		return codecChoice{}, fmt.Errorf("session: %w", err)
	}
	return codecChoice{codec: codec, generated: generated}, nil
}

// cookieKeys returns the keys sessionCodec uses; generated says that none
// was configured and the one returned is random.
func cookieKeys(sc config.Session) (keys [][]byte, generated bool, err error) {
	switch {
	case len(sc.Keys) > 0:
		for i, k := range sc.Keys {
			key, err := session.ParseKey(k)
			if err != nil {
				return nil, false, fmt.Errorf("session.keys[%d]: %w", i, err)
			}
			keys = append(keys, key)
		}
	case sc.CookieEncryptionKey != "":
		keys = append(keys, session.LegacyKey(sc.CookieEncryptionKey, sc.CookieEncryptionInitializationVector))
	default:
		key, err := session.ParseKey(session.GenerateKey())
		if err != nil {
			return nil, false, err
		}
		keys = append(keys, key)
		generated = true
	}
	return keys, generated, nil
}
