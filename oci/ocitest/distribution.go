package ocitest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // the in-memory storage driver
	"github.com/sirupsen/logrus"
)

// Distribution starts the CNCF distribution registry (v3, the reference
// registry that Docker Hub, Harbor and GHCR descend from) in-process on
// loopback, with in-memory storage, and returns host:port. When notify is
// not "", the registry posts its push notifications (its real event
// envelope) to that URL, as a registry operator configures it.
func Distribution(t testing.TB, notify string) string {
	t.Helper()
	return DistributionWith(t, notify, nil)
}

// DistributionWith is Distribution with static headers on every
// notification (the registry's endpoint "headers:" setting: how an
// operator gives it the bearer token of the service it notifies).
func DistributionWith(t testing.TB, notify string, headers http.Header) string {
	t.Helper()
	logrus.SetOutput(io.Discard)
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{"inmemory": configuration.Parameters{}}
	cfg.Storage["delete"] = configuration.Parameters{"enabled": true}
	cfg.Log.Level = "error"
	cfg.Log.AccessLog.Disabled = true
	if notify != "" {
		cfg.Notifications.Endpoints = []configuration.Endpoint{{
			Name: "modelvet", URL: notify, Headers: headers, Timeout: 5 * time.Second, Threshold: 3, Backoff: 100 * time.Millisecond,
		}}
	}
	app := handlers.NewApp(context.Background(), cfg)
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}
