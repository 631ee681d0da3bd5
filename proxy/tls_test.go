package proxy_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oidcgate/oidcgate/internal/fakeop"
	"github.com/oidcgate/oidcgate/internal/fakeop/fakeoptest"
)

// TestTLSOffersOnlyAEADSuites: TLS 1.2 clients get ECDHE with AES-GCM or
// ChaCha20-Poly1305 only; CBC and RSA key exchange are not offered.
func TestTLSOffersOnlyAEADSuites(t *testing.T) {
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	backend := newRecorder(t)
	r := startRun(t, op, backend.URL, "")
	addr := strings.TrimPrefix(r.public, "https://")
	probe, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	rsaCert := probe.ConnectionState().PeerCertificates[0].PublicKeyAlgorithm == x509.RSA
	probe.Close()
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		// A suite for the other key type cannot be agreed whatever the
		// server offers; TestServerTLSSuites checks the list itself.
		if !supportsTLS12(s) || rsaCert == strings.Contains(s.Name, "_ECDSA_") {
			continue
		}
		want := strings.HasPrefix(s.Name, "TLS_ECDHE_") && (strings.Contains(s.Name, "_GCM_") || strings.Contains(s.Name, "CHACHA20_POLY1305"))
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{s.ID}})
		if err == nil {
			conn.Close()
		}
		if got := err == nil; got != want {
			t.Errorf("TLS 1.2 with only %s: handshake succeeded = %v (%v); want %v", s.Name, got, err, want)
		}
	}
}

func supportsTLS12(s *tls.CipherSuite) bool {
	for _, v := range s.SupportedVersions {
		if v == tls.VersionTLS12 {
			return true
		}
	}
	return false
}

// TestHTTP2OversizedHeaders sends, over HTTP/2, a header block beyond
// max_header_bytes the way an attacker's client would (Go's own client
// refuses to), and checks what the README says: headers a little over the
// limit together get 431; a block more than about twice the limit, or a
// single field over it, ends the connection (GOAWAY) before it is decoded.
// Nothing reaches the backend either way.
func TestHTTP2OversizedHeaders(t *testing.T) {
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	backend := newRecorder(t)
	r := startRun(t, op, backend.URL, "[limits]\nmax_header_bytes = 8192\n")
	addr := strings.TrimPrefix(r.public, "https://")
	tests := []struct {
		name   string
		fields [][2]string
		want   string
	}{
		{"fields over the limit together", manyFields(25, 400), "status 431"},
		{"fields far over the limit together", manyFields(60, 400), "GOAWAY"},
		{"one field over the limit", [][2]string{{"cookie", strings.Repeat("x", 9000)}}, "GOAWAY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := h2Request(t, addr, "GET", "/Administration/", tt.fields)
			if got != tt.want {
				t.Errorf("HTTP/2 request with %s: %s; want %s", tt.name, got, tt.want)
			}
		})
	}
	if n := len(backend.requests()); n != 0 {
		t.Errorf("backend received %d request(s)", n)
	}
	if code, _ := r.get(t, r.admin+"/healthz"); code != http.StatusOK {
		t.Error("server unhealthy after oversized requests")
	}
}

// TestHTTP2RequestsAreScreened: over HTTP/2 too, a path a browser would
// never send gets 400 and TRACE gets 405, with nothing forwarded.
func TestHTTP2RequestsAreScreened(t *testing.T) {
	op := fakeoptest.NewTLSServer(t, fakeop.Options{ClientID: testClientID, ClientSecret: testClientSecret, Users: []fakeop.User{defaultUser}})
	backend := newRecorder(t)
	r := startRun(t, op, backend.URL, "")
	addr := strings.TrimPrefix(r.public, "https://")
	tests := []struct{ method, path, want string }{
		{"GET", "/Administration/%2e%2e/%2e%2e/internal-only/secret", "status 400"},
		{"GET", "/Administration/..%2fFlowtime/x", "status 400"},
		{"GET", `/Administration/..\x`, "status 400"},
		{"TRACE", "/Administration/", "status 405"},
	}
	for _, tt := range tests {
		if got := h2Request(t, addr, tt.method, tt.path, nil); got != tt.want {
			t.Errorf("HTTP/2 %s %s: %s; want %s", tt.method, tt.path, got, tt.want)
		}
	}
	if n := len(backend.requests()); n != 0 {
		t.Errorf("backend received %d request(s)", n)
	}
}

func manyFields(n, size int) [][2]string {
	var f [][2]string
	for i := 0; i < n; i++ {
		f = append(f, [2]string{"x-filler-" + string(rune('a'+i%26)) + string(rune('a'+i/26)), strings.Repeat("v", size)})
	}
	return f
}

// h2Request speaks just enough HTTP/2 to send one request without a body,
// with fields (HPACK literals, no Huffman, spread over CONTINUATION frames)
// and report how the server answered stream 1: "status NNN", "RST_STREAM"
// or "GOAWAY".
func h2Request(t *testing.T, addr, method, path string, fields [][2]string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("negotiated %q; want h2", p)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	w := bufio.NewWriter(conn)
	w.WriteString("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	writeFrame(w, 0x4, 0, 0, nil) // SETTINGS
	var block []byte
	all := append([][2]string{{":method", method}, {":scheme", "https"}, {":authority", addr}, {":path", path}}, fields...)
	for _, f := range all {
		block = append(block, 0x00) // literal without indexing, new name
		block = appendHPACKString(block, f[0])
		block = appendHPACKString(block, f[1])
	}
	const maxFrame = 16384
	first := true
	for len(block) > 0 {
		n := min(len(block), maxFrame)
		typ, flags := byte(0x9), byte(0) // CONTINUATION
		if first {
			typ, flags = 0x1, 0x1 // HEADERS, END_STREAM
		}
		if n == len(block) {
			flags |= 0x4 // END_HEADERS
		}
		writeFrame(w, typ, flags, 1, block[:n])
		block, first = block[n:], false
	}
	if err := w.Flush(); err != nil {
		return "write failed: " + err.Error()
	}
	br := bufio.NewReader(conn)
	for {
		var hdr [9]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return "connection closed: " + err.Error()
		}
		length := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		typ, stream := hdr[3], binary.BigEndian.Uint32(hdr[5:])&0x7fffffff
		payload := make([]byte, length)
		if _, err := io.ReadFull(br, payload); err != nil {
			return "connection closed: " + err.Error()
		}
		switch {
		case typ == 0x7:
			t.Logf("GOAWAY code %d: %q", binary.BigEndian.Uint32(payload[4:8]), payload[8:])
			return "GOAWAY"
		case typ == 0x3 && stream == 1:
			return "RST_STREAM"
		case typ == 0x1 && stream == 1:
			return "status " + statusFromHPACK(payload)
		}
	}
}

func writeFrame(w *bufio.Writer, typ, flags byte, stream uint32, payload []byte) {
	n := len(payload)
	w.Write([]byte{byte(n >> 16), byte(n >> 8), byte(n), typ, flags})
	binary.Write(w, binary.BigEndian, stream)
	w.Write(payload)
}

func appendHPACKString(b []byte, s string) []byte {
	return append(appendHPACKInt(b, 7, 0, uint64(len(s))), s...)
}

func appendHPACKInt(b []byte, prefix uint, first byte, v uint64) []byte {
	max := uint64(1)<<prefix - 1
	if v < max {
		return append(b, first|byte(v))
	}
	b = append(b, first|byte(max))
	for v -= max; v >= 128; v >>= 7 {
		b = append(b, byte(v%128+128))
	}
	return append(b, byte(v))
}

// statusFromHPACK reads :status from the first field of a response header
// block, as Go's server writes it: an indexed static entry (200, 204, 206,
// 304, 400, 404, 500) or a literal with the static name :status.
func statusFromHPACK(b []byte) string {
	static := map[byte]string{0x88: "200", 0x89: "204", 0x8a: "206", 0x8b: "304", 0x8c: "400", 0x8d: "404", 0x8e: "500"}
	if len(b) == 0 {
		return "?"
	}
	if s, ok := static[b[0]]; ok {
		return s
	}
	// A literal with incremental indexing (01xxxxxx) or without
	// (0000xxxx) whose name is one of the static :status entries (8-14),
	// then a plain string of three digits.
	name := b[0] & 0x0f
	if b[0]&0xc0 == 0x40 {
		name = b[0] & 0x3f
	} else if b[0]&0xf0 != 0 {
		return "?"
	}
	if name >= 8 && name <= 14 && len(b) >= 5 && b[1] == 3 {
		return string(b[2:5])
	}
	return "?"
}
