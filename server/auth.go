package server

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// minTokenLen refuses tokens short enough to guess.
const minTokenLen = 16

// LoadTokens reads bearer tokens, one a line; blank lines and lines
// starting with # are skipped. The file must not be readable by others
// (on systems with Unix permissions): it is a password file.
func LoadTokens(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	if unixPerms && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("token file %s is readable by other users (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	var toks []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if len(t) < minTokenLen || strings.ContainsAny(t, " \t") {
			return nil, fmt.Errorf("token file %s line %d: a token is at least %d characters without spaces", path, line, minTokenLen)
		}
		toks = append(toks, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("token file %s holds no token", path)
	}
	return toks, nil
}

// tokenSet compares tokens by their SHA-256 with a constant-time compare
// against every entry: neither a token's bytes nor which entry matched
// show in the timing.
type tokenSet struct{ sums [][32]byte }

func newTokenSet(toks []string) (*tokenSet, error) {
	ts := &tokenSet{}
	for _, t := range toks {
		if len(t) < minTokenLen {
			return nil, fmt.Errorf("server: a bearer token is shorter than %d characters", minTokenLen)
		}
		ts.sums = append(ts.sums, sha256.Sum256([]byte(t)))
	}
	return ts, nil
}

// match returns the 1-based index of the token, or 0.
func (ts *tokenSet) match(tok string) int {
	sum := sha256.Sum256([]byte(tok))
	found := 0
	for i := range ts.sums {
		eq := subtle.ConstantTimeCompare(sum[:], ts.sums[i][:])
		found = subtle.ConstantTimeSelect(eq, i+1, found)
	}
	return found
}

var errNoCredentials = errors.New("this service needs a bearer token: send Authorization: Bearer TOKEN")

// authenticate names the client a request comes from: the token's entry,
// else the verified client certificate's subject, else the address. With
// tokens configured, a request without a valid one is refused; a client
// certificate, when required, was already verified in the handshake.
func (s *Server) authenticate(r *http.Request) (string, error) {
	if s.tokens != nil {
		h := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return "", &httpError{code: http.StatusUnauthorized, msg: errNoCredentials.Error()}
		}
		n := s.tokens.match(strings.TrimSpace(tok))
		if n == 0 {
			return "", errorf(http.StatusUnauthorized, "the bearer token is not one this service accepts")
		}
		return "token#" + strconv.Itoa(n), nil
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		return "cert:" + r.TLS.VerifiedChains[0][0].Subject.String(), nil
	}
	return "addr:" + hostOf(r.RemoteAddr), nil
}

func (s *Server) refuseAuth(w http.ResponseWriter, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="modelvet"`)
	writeJSON(w, http.StatusUnauthorized, errorBody{Error: err.Error()})
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// TLSConfig loads the service's certificate and, when clientCA is given,
// requires every client to present a certificate that chains to it.
func TLSConfig(certFile, keyFile, clientCA string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("TLS needs both --tls-cert and --tls-key")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCA != "" {
		pem, err := os.ReadFile(clientCA)
		if err != nil {
			return nil, fmt.Errorf("client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA %s holds no PEM certificate", clientCA)
		}
		c.ClientCAs = pool
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c, nil
}

// CheckExposure refuses to listen beyond this machine without TLS and
// client authentication (a token or a client certificate): the service
// reads models from disk and its answers gate what gets loaded, so an
// open port is both a data leak and a bypass. insecure overrides it for
// a service behind an authenticating proxy.
func CheckExposure(addr string, tlsOn, authOn, insecure bool) error {
	if insecure || (tlsOn && authOn) || isLoopback(addr) {
		return nil
	}
	return fmt.Errorf("%s is reachable from other machines, and the service has no TLS and client authentication: give --tls-cert/--tls-key and --token-file or --client-ca, listen on 127.0.0.1, or pass --insecure if a proxy in front authenticates", addr)
}

// isLoopback reports whether every address addr can bind to is on the
// loopback interface. An empty host (":8479") is every interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
