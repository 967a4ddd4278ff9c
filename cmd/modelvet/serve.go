package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/modelvet/modelvet/oci"
	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/report"
	"github.com/modelvet/modelvet/server"
)

func init() {
	register(&command{name: "serve", summary: "run the admission service (POST /v1/check) for model registries", run: runServe})
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", stderr)
	policyPath := fs.String("policy", "", "the policy file (required)")
	addr := fs.String("addr", "127.0.0.1:8479", "listen address; an address other machines can reach needs --tls-cert/--tls-key and --token-file or --client-ca (or --insecure behind an authenticating proxy)")
	root := fs.String("root", "", "folder whose models may be checked by name; without it only uploads are accepted")
	anyFolder := fs.Bool("any-folder", false, "let a name select any folder under --root, including a parent of several models (default: a folder with a model file or JSON config at its top)")
	tmp := fs.String("tmp", "", "private folder (mode 0700, created if missing) for uploads and the analyzers' spooled members; without it uploads are refused. What an earlier run left there is removed at start")
	concurrent := fs.Int("concurrency", 0, "checks run at once (default: number of CPUs)")
	queue := fs.Int("queue", 256, "requests whose body is read that may wait for a slot before the service answers 429")
	uploads := fs.Int("max-uploads", 0, "uploads received, extracted or checked at once (default: 4 x --concurrency, at least 8)")
	timeout := fs.Duration("timeout", 10*time.Minute, "limit for one request (upload and check)")
	maxUpload := fs.Int64("max-upload", 8<<30, "largest upload accepted, in bytes")
	maxExtract := fs.Int64("max-extract", 16<<30, "most bytes one upload may extract to, in bytes")
	maxMembers := fs.Int("max-members", 100_000, "most members one upload may hold")
	maxRatio := fs.Int64("max-ratio", 200, "most a zip member may expand (uncompressed / compressed)")
	minRate := fs.Int64("min-rate", 64<<10, "slowest a request body may arrive after the first 5 s, in bytes per second")
	maxConns := fs.Int("max-conns", 512, "most client connections open at once")
	connsPerClient := fs.Int("max-conns-per-client", 64, "most connections open from one address")
	clientConcurrent := fs.Int("client-concurrency", 8, "most requests one client (token, certificate or address) may have running")
	clientRate := fs.Float64("client-rate", 20, "requests per second one client may send (burst: twice as many)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM)")
	tlsKey := fs.String("tls-key", "", "the private key of --tls-cert (PEM)")
	clientCA := fs.String("client-ca", "", "require client certificates signed by this CA (PEM); needs --tls-cert")
	tokenFile := fs.String("token-file", "", "accept only requests with Authorization: Bearer TOKEN, one token a line in this file (mode 0600)")
	registry := fs.String("registry", "", "accept push notifications (POST /v1/registry/events) from the distribution registry at this host[:port], check each pushed model artifact there by digest, and promote admitted ones to the policy's oci.promote.repository; see docs/oci.md")
	decisionLog := fs.String("decision-log", "", "append-only JSON-lines file of registry admission decisions (required with --registry)")
	verdictKey := fs.String("verdict-key", "", "private key (PEM, or cosign.key) that signs the verdict attestation of each promoted artifact (required when the policy has oci.promote)")
	verdictKeyPw := fs.String("verdict-key-password-env", "", "name of the environment variable holding the password of an encrypted --verdict-key (cosign keys: COSIGN_PASSWORD by default)")
	insecureReg := fs.Bool("insecure-registry", false, "pull from and promote to the registry over plain HTTP or unverified TLS")
	regWorkers := fs.Int("registry-workers", 2, "pushed artifacts checked at once (each also takes a check slot)")
	regQueue := fs.Int("registry-queue", 1024, "pushed artifacts that may wait; past it the notification is answered 503 and the registry resends it")
	insecure := fs.Bool("insecure", false, "allow an address other machines can reach without TLS and client authentication (only behind a proxy that authenticates)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: modelvet serve --policy FILE [--addr 127.0.0.1:PORT] [--root DIR] [--tmp DIR] [--tls-cert F --tls-key F] [--token-file F] [--client-ca F] [--registry HOST --decision-log F [--verdict-key KEY]]\n\nAnswers POST /v1/check ({\"model\": \"name/under/root\"}, or a tar/zip upload) with the report of `modelvet check --format json`; GET /healthz; GET /metrics (Prometheus). With --registry, also POST /v1/registry/events (the registry's push notifications) and GET /v1/registry/decisions/DIGEST (docs/oci.md). Stops gracefully on SIGINT/SIGTERM. See docs/serve.md for deployment.\n\nflags:")
		fs.PrintDefaults()
	}
	rest, err := parseArgs(fs, args)
	if err != nil {
		return parseErrExit(err)
	}
	if len(rest) != 0 || *policyPath == "" {
		fs.Usage()
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "modelvet serve:", err)
		return exitUsage
	}
	policyBytes, err := readSmallFile(*policyPath, "policy")
	if err != nil {
		fmt.Fprintln(stderr, "modelvet serve: policy:", err)
		return exitUsage
	}
	// Parsed from the bytes that are hashed: the digest in each verdict
	// names the policy that decided.
	p, err := policy.Parse(*policyPath, policyBytes)
	if err != nil {
		fmt.Fprintln(stderr, "modelvet serve: policy:", err)
		return exitUsage
	}
	cfg := server.Config{Gate: newGate(p), Root: *root, AnyFolder: *anyFolder, TempDir: *tmp, MaxConcurrent: *concurrent, MaxQueue: *queue, MaxUploads: *uploads,
		Timeout: *timeout, Limits: server.Limits{MaxUpload: *maxUpload, MaxExtract: *maxExtract, MaxMembers: *maxMembers, MaxRatio: *maxRatio},
		Body:  server.BodyLimits{MinRate: *minRate},
		Conns: server.ConnLimits{Max: *maxConns, PerClient: *connsPerClient}, Clients: server.ClientLimits{Concurrent: *clientConcurrent, Rate: *clientRate}}
	if *tlsCert != "" || *tlsKey != "" {
		if cfg.TLS, err = server.TLSConfig(*tlsCert, *tlsKey, *clientCA); err != nil {
			return fail(err)
		}
	} else if *clientCA != "" {
		return fail(fmt.Errorf("--client-ca needs --tls-cert and --tls-key"))
	}
	if *tokenFile != "" {
		if cfg.Tokens, err = server.LoadTokens(*tokenFile); err != nil {
			return fail(err)
		}
	}
	if *registry != "" {
		adm, err := registryAdmission(cfg.Gate, p, policyBytes, *registry, *decisionLog, *verdictKey, *verdictKeyPw, *insecureReg, stderr)
		if err != nil {
			return fail(err)
		}
		adm.Workers, adm.Queue = *regWorkers, *regQueue
		cfg.Admission = adm
	} else if *decisionLog != "" || *verdictKey != "" {
		return fail(fmt.Errorf("--decision-log and --verdict-key are for registry admission: give --registry HOST too"))
	}
	if err := server.CheckExposure(*addr, cfg.TLS != nil, len(cfg.Tokens) > 0 || *clientCA != "", *insecure); err != nil {
		return fail(err)
	}
	logger := log.New(stderr, "modelvet serve: ", log.LstdFlags|log.LUTC)
	cfg.Log = logger
	srv, err := server.New(cfg)
	if err != nil {
		return fail(err)
	}
	if *tmp != "" {
		// Analyzers spool large archive members to the system temporary
		// folder; in the service that is the private one, never a shared
		// /tmp, and what a killed run left there is removed at the next
		// start.
		abs, _ := filepath.Abs(*tmp)
		for _, v := range []string{"TMPDIR", "TMP", "TEMP"} {
			os.Setenv(v, abs)
		}
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	logger.Printf("listening on %s://%s (policy %s, root %q, tmp %q)", scheme, l.Addr(), *policyPath, *root, *tmp)
	if err := srv.Serve(ctx, l, 30*time.Second); err != nil {
		logger.Printf("stopped: %v", err)
		return exitUsage
	}
	logger.Printf("stopped")
	return exitOK
}

// registryAdmission builds the push-notification admission: checks by
// oci.Check under the service's gate, promotion to the policy's
// oci.promote.repository signed with --verdict-key.
func registryAdmission(g *policy.Gate, p *policy.Policy, policyBytes []byte, host, logPath, keyPath, keyPw string, insecure bool, stderr io.Writer) (*server.Admission, error) {
	if logPath == "" {
		return nil, fmt.Errorf("--registry needs --decision-log FILE: every decision, rejections above all, is recorded there")
	}
	opts := oci.Options{Insecure: insecure}
	sum := sha256.Sum256(policyBytes)
	adm := &server.Admission{Registry: host, DecisionLog: logPath, OCI: opts, PolicyDigest: "sha256:" + hex.EncodeToString(sum[:]),
		Promote: p.OCI.Promote.Repository,
		Check: func(ctx context.Context, ref string) (*report.Report, *oci.Artifact, error) {
			return oci.Check(ctx, ref, g, opts)
		}}
	switch {
	case adm.Promote != "" && keyPath == "":
		return nil, fmt.Errorf("the policy promotes admitted artifacts to %s (oci.promote), which needs --verdict-key KEY to sign their verdicts", adm.Promote)
	case adm.Promote == "" && keyPath != "":
		return nil, fmt.Errorf("--verdict-key is given but the policy has no oci.promote.repository: nothing would be promoted or signed")
	case keyPath != "":
		k, err := loadSigningKey(keyPath, keyPw, stderr)
		if err != nil {
			return nil, fmt.Errorf("--verdict-key: %w", err)
		}
		if adm.Signer, err = oci.LoadSigner(k); err != nil {
			return nil, fmt.Errorf("--verdict-key %s: %w", keyPath, err)
		}
	}
	if insecure {
		fmt.Fprintf(stderr, "modelvet serve: warning: --insecure-registry: %s is read and written over plain HTTP or unverified TLS\n", host)
	}
	return adm, nil
}
