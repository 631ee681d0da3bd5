package config

import (
	"encoding"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// envRef matches a reference, "${NAME}", alone or inside a longer value
// ("${CREDENTIALS_DIRECTORY}/oidc"). A "$" not followed by "{" is kept as
// it is, so a "$" in a password never surprises.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces every ${NAME} reference in string values by the
// variable's value. A variable that is unset or set but empty is an error
// naming it: an empty secret or URL is never what was meant. Enumerated
// values are read again after expansion, and so are durations.
func (c *Config) expandEnv(lookup func(string) (string, bool)) []error {
	var errs []error
	var walk func(v reflect.Value, key string)
	resolve := func(key, text string) (string, bool) {
		ok := true
		out := envRef.ReplaceAllStringFunc(text, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			val, set := lookup(name)
			switch {
			case !set:
				errs = append(errs, c.errorf(key, "environment variable %s is not set", name))
				ok = false
			case val == "":
				errs = append(errs, c.errorf(key, "environment variable %s is set but empty", name))
				ok = false
			}
			return val
		})
		return out, ok
	}
	walk = func(v reflect.Value, key string) {
		switch {
		case v.Type() == reflect.TypeFor[Duration]():
			d := v.Addr().Interface().(*Duration)
			if envRef.MatchString(d.text) {
				if val, ok := resolve(key, d.text); ok {
					_ = d.UnmarshalText([]byte(val))
				}
			}
		case v.Kind() == reflect.String:
			if !envRef.MatchString(v.String()) {
				return
			}
			val, ok := resolve(key, v.String())
			if !ok {
				return
			}
			if u, isText := v.Addr().Interface().(encoding.TextUnmarshaler); isText {
				_ = u.UnmarshalText([]byte(val))
			} else {
				v.SetString(val)
			}
		case v.Kind() == reflect.Struct:
			t := v.Type()
			for i := range t.NumField() {
				if name := tomlName(t.Field(i)); name != "" {
					walk(v.Field(i), join(key, name))
				}
			}
		case v.Kind() == reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i), key+"["+strconv.Itoa(i)+"]")
			}
		}
	}
	walk(reflect.ValueOf(c).Elem(), "")
	return errs
}

// maxSecretFile bounds a secret file: a secret is short, and a path such
// as /dev/zero must not hang the start.
const maxSecretFile = 64 << 10

// readSecretFiles fills ClientSecret from client_secret_file, for the
// provider and for each credential.
func (c *Config) readSecretFiles() []error {
	var errs []error
	read := func(key string, secret *string, file string) {
		if file == "" || envRef.MatchString(file) {
			return // nothing to read, or a reference expandEnv reported
		}
		if *secret != "" {
			errs = append(errs, c.errorf(key+".client_secret", "set client_secret or client_secret_file, not both"))
			return
		}
		s, err := readSecretFile(file)
		if err != nil {
			errs = append(errs, c.errorf(key+".client_secret_file", "%w", err))
			return
		}
		*secret = s
	}
	o := &c.OpenIDConnect
	read("openid_connect", &o.ClientSecret, o.ClientSecretFile)
	if st := &c.Store; st.PasswordFile != "" {
		if u, err := url.Parse(st.URL); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				errs = append(errs, c.errorf("store.password_file", "set a password in url or password_file, not both"))
				return errs
			}
		}
		pw, err := readSecretFile(st.PasswordFile)
		if err != nil {
			errs = append(errs, c.errorf("store.password_file", "%w", err))
		} else {
			st.Password = pw
		}
	}
	for i := range c.Credentials {
		cr := &c.Credentials[i]
		read(credentialKey(i, cr.Name), &cr.ClientSecret, cr.ClientSecretFile)
	}
	return errs
}

// readSecretFile returns the file's content without its trailing newline.
// Its errors name the file, never the content.
func readSecretFile(path string) (string, error) {
	s, err := readSecretFileOp(path)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = fmt.Errorf("%s: %w", path, pe.Err)
	}
	return s, err
}

func readSecretFileOp(path string) (string, error) {
	// Stat first: opening a named pipe would wait for a writer.
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s: larger than %d bytes, not a secret", path, maxSecretFile)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", errors.New(path + ": empty")
	}
	return s, nil
}

// credentialKey names credential i in messages with its name, which says
// more to a reader than the index: `credentials[0] (mail)`.
func credentialKey(i int, name string) string {
	k := "credentials[" + strconv.Itoa(i) + "]"
	if name != "" {
		k += " (" + name + ")"
	}
	return k
}
