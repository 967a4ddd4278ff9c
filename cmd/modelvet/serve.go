package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/modelvet/modelvet/policy"
	"github.com/modelvet/modelvet/server"
)

func init() {
	register(&command{name: "serve", summary: "run the admission service (POST /v1/check) for model registries", run: runServe})
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", stderr)
	policyPath := fs.String("policy", "", "the policy file (required)")
	addr := fs.String("addr", "127.0.0.1:8479", "listen address; keep it on loopback or behind an authenticating proxy: the service has no authentication of its own")
	root := fs.String("root", "", "folder whose models may be checked by name; without it only uploads are accepted")
	tmp := fs.String("tmp", "", "folder for uploads while they are checked (default: the system temporary folder)")
	concurrent := fs.Int("concurrency", 0, "checks run at once (default: number of CPUs)")
	queue := fs.Int("queue", 256, "requests that may wait for a slot before the service answers 429")
	timeout := fs.Duration("timeout", 10*time.Minute, "limit for one request (upload and check)")
	maxUpload := fs.Int64("max-upload", 8<<30, "largest upload accepted, in bytes")
	maxExtract := fs.Int64("max-extract", 16<<30, "most bytes one upload may extract to, in bytes")
	maxMembers := fs.Int("max-members", 100_000, "most members one upload may hold")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: modelvet serve --policy FILE [--addr 127.0.0.1:PORT] [--root DIR]\n\nAnswers POST /v1/check ({\"model\": \"name/under/root\"}, or a tar/zip upload) with the report of `modelvet check --format json`; GET /healthz; GET /metrics (Prometheus). Stops gracefully on SIGINT/SIGTERM.\n\nflags:")
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
	p, err := policy.Load(*policyPath)
	if err != nil {
		fmt.Fprintln(stderr, "modelvet serve: policy:", err)
		return exitUsage
	}
	logger := log.New(stderr, "modelvet serve: ", log.LstdFlags|log.LUTC)
	srv, err := server.New(server.Config{Gate: newGate(p), Root: *root, TempDir: *tmp, MaxConcurrent: *concurrent, MaxQueue: *queue,
		Timeout: *timeout, Limits: server.Limits{MaxUpload: *maxUpload, MaxExtract: *maxExtract, MaxMembers: *maxMembers}, Log: logger})
	if err != nil {
		fmt.Fprintln(stderr, "modelvet serve:", err)
		return exitUsage
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "modelvet serve:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger.Printf("listening on http://%s (policy %s, root %q)", l.Addr(), *policyPath, *root)
	if err := srv.Serve(ctx, l, 30*time.Second); err != nil {
		logger.Printf("stopped: %v", err)
		return exitUsage
	}
	logger.Printf("stopped")
	return exitOK
}
