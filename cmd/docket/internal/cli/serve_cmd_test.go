package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// selfSigned writes a certificate and its key as PEM files.
func selfSigned(t *testing.T, dir, name string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert = writeFile(t, dir, name+".crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	key = writeFile(t, dir, name+".key", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
	return cert, key
}

// TestServeRefuses: every way `docket serve` can be misconfigured stops it
// before it serves, with a message saying what to change.
func TestServeRefuses(t *testing.T) {
	dir := t.TempDir()
	keys := writeFile(t, dir, "keys", "secret-key-1\nreader-key read\n")
	if err := os.Chmod(keys, 0o600); err != nil {
		t.Fatal(err)
	}
	open := writeFile(t, dir, "open-keys", "secret-key-1\n")
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := writeFile(t, dir, "empty-keys", "# nobody yet\n\n")
	if err := os.Chmod(empty, 0o600); err != nil {
		t.Fatal(err)
	}
	badLine := writeFile(t, dir, "bad-keys", "k1\nk2 rad only\n")
	if err := os.Chmod(badLine, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := selfSigned(t, dir, "a")
	_, otherKey := selfSigned(t, dir, "b")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	for _, c := range []struct {
		what string
		args []string
		want []string
	}{
		{"no keys and no --no-auth", []string{"serve", "--memory"}, []string{"serve needs bearer keys", "--keys-file"}},
		{"--no-auth off loopback", []string{"serve", "--memory", "--no-auth", "--addr", "0.0.0.0:7070"}, []string{"--no-auth is refused on 0.0.0.0:7070"}},
		{"--no-auth on every interface", []string{"serve", "--memory", "--no-auth", "--addr", ":7070"}, []string{"--no-auth is refused"}},
		{"both", []string{"serve", "--memory", "--no-auth", "--keys-file", keys}, []string{"contradict"}},
		{"missing keys file", []string{"serve", "--memory", "--keys-file", filepath.Join(dir, "nope")}, []string{"nope: no such file"}},
		{"world-readable keys file", []string{"serve", "--memory", "--keys-file", open}, []string{"readable by every user", "chmod 600"}},
		{"empty keys file", []string{"serve", "--memory", "--keys-file", empty}, []string{"holds no keys"}},
		{"bad keys line", []string{"serve", "--memory", "--keys-file", badLine}, []string{"bad-keys:2:"}},
		{"port in use", []string{"serve", "--memory", "--keys-file", keys, "--addr", busy.Addr().String()}, []string{"listen on " + busy.Addr().String(), "choose another --addr"}},
		{"TLS cert alone", []string{"serve", "--memory", "--keys-file", keys, "--tls-cert", cert}, []string{"go together"}},
		{"negative expired-tuple interval", []string{"serve", "--memory", "--keys-file", keys, "--expired-gc-interval", "-1m"}, []string{"--expired-gc-interval and --expired-gc-keep must not be negative"}},
		{"negative in-memory index limit", []string{"serve", "--memory", "--keys-file", keys, "--mem-index-limit", "-1"}, []string{"--mem-index-limit must not be negative (got -1)", "0 to turn it off"}},
		{"in-memory index limit not a number", []string{"serve", "--memory", "--keys-file", keys, "--mem-index-limit", "lots"}, []string{`invalid argument "lots" for "--mem-index-limit"`}},
		{"in-memory index limit on a datastore", []string{"serve", "--datastore", "postgres://docket@127.0.0.1:1/docket", "--keys-file", keys, "--mem-index-limit", "1000"}, []string{"--mem-index-limit applies to --db and --memory only", "drop --mem-index-limit"}},
		{"TLS files that do not match", []string{"serve", "--memory", "--keys-file", keys, "--tls-cert", cert, "--tls-key", otherKey}, []string{"TLS files", "the key is the certificate's own"}},
	} {
		t.Run(c.what, func(t *testing.T) {
			r := run(t, c.args...)
			r.want(t, exitFailure)
			contains(t, "stderr", r.stderr, c.want...)
			lacks(t, "stdout", r.stdout, "listening")
		})
	}
}
