package clientauth

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// KeyFileOptions name a key pair on disk and how often to look for a new one.
type KeyFileOptions struct {
	KeyFile         string // PEM private key
	CertificateFile string // optional PEM certificate of the key
	Alg             string // "" picks RS256 or ES256 from the key
	// Interval: the files are looked at (stat only) at most this often, when
	// a key is needed. Default one second.
	Interval time.Duration
	Now      func() time.Time // default time.Now
	// OnReload, if set, hears of every reload after the first load: nil
	// when the new pair is in service, the reason when the previous one
	// stays.
	OnReload func(err error)
}

// KeyFile serves the key pair in its files and picks up a replaced pair
// without a restart, as the TLS pair is: when a key is needed and the
// interval has passed, it compares the files' modification times and sizes
// and reloads when they changed. A pair that fails to load (half written,
// not a pair, a certificate not yet valid) leaves the previous one in
// service, so a rollover is: write the new pair, register its certificate
// at the provider, and nothing else.
type KeyFile struct {
	o KeyFileOptions

	mu      sync.Mutex
	key     *Key
	stamp   string // of the files in service
	failed  string // of files that failed to load: not tried again
	checked time.Time
}

// OpenKeyFile loads the pair once; an error names the file at fault.
func OpenKeyFile(o KeyFileOptions) (*KeyFile, error) {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	f := &KeyFile{o: o}
	stamp, err := f.fileStamp()
	if err != nil {
		return nil, err
	}
	if err := f.load(stamp); err != nil {
		return nil, err
	}
	f.checked = o.Now()
	return f, nil
}

// Key returns the pair in service, reloading it first when its files changed.
func (f *KeyFile) Key() *Key {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.o.Now()
	if now.Sub(f.checked) < f.o.Interval {
		return f.key
	}
	f.checked = now
	stamp, err := f.fileStamp()
	if err != nil {
		// A file missing for a moment (a rollover by delete and create)
		// is reported once, not at every look.
		stamp = "error: " + err.Error()
	}
	if stamp == f.stamp || stamp == f.failed {
		return f.key
	}
	if err == nil {
		err = f.load(stamp)
	}
	if err != nil {
		f.failed = stamp
	}
	if f.o.OnReload != nil {
		f.o.OnReload(err)
	}
	return f.key
}

func (f *KeyFile) load(stamp string) error {
	k, err := LoadKey(f.o.KeyFile, f.o.CertificateFile, f.o.Alg, f.o.Now())
	if err != nil {
		return f.describe(err)
	}
	f.key, f.stamp = k, stamp
	return nil
}

// describe names the files in err, the way an operator wrote them.
func (f *KeyFile) describe(err error) error {
	if f.o.CertificateFile != "" {
		return fmt.Errorf("client assertion key %s with certificate %s: %w", f.o.KeyFile, f.o.CertificateFile, err)
	}
	return fmt.Errorf("client assertion key %s: %w", f.o.KeyFile, err)
}

func (f *KeyFile) fileStamp() (string, error) {
	var stamp string
	for _, name := range []string{f.o.KeyFile, f.o.CertificateFile} {
		if name == "" {
			continue
		}
		fi, err := os.Stat(name)
		if err != nil {
			return "", f.describe(err)
		}
		stamp += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return stamp, nil
}

// String names the files; it never shows the key.
func (f *KeyFile) String() string {
	if f == nil {
		return "no key file"
	}
	if f.o.CertificateFile != "" {
		return fmt.Sprintf("key_file %s (certificate_file %s)", f.o.KeyFile, f.o.CertificateFile)
	}
	return "key_file " + f.o.KeyFile
}

// Format makes every fmt verb print String, so %#v cannot print the key.
func (f *KeyFile) Format(st fmt.State, _ rune) { io.WriteString(st, f.String()) }

// LogValue shows the files and the key in service, never the key itself.
func (f *KeyFile) LogValue() slog.Value {
	if f == nil {
		return slog.StringValue("")
	}
	f.mu.Lock()
	k := f.key
	f.mu.Unlock()
	return slog.GroupValue(
		slog.String("key_file", f.o.KeyFile),
		slog.String("certificate_file", f.o.CertificateFile),
		slog.Any("key", k),
	)
}
