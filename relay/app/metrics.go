package app

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/hookrelay/hookrelay/infra/apierr"
	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/telemetry"
	"github.com/hookrelay/hookrelay/relay/api"
)

// metricsHandler is GET /metrics, behind the bearer token when
// metrics_token is set. The metrics name webhook sources and count
// signature failures and connections (I5 of the 2026-12 review), so a
// deployment whose public listener serves them should at least require a
// token.
func (a *App) metricsHandler() http.Handler {
	h := telemetry.MetricsHandler(a.reg)
	if a.cfg.MetricsToken == "" {
		return h
	}
	want := sha256.Sum256([]byte(a.cfg.MetricsToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := auth.Bearer(r)
		got := sha256.Sum256([]byte(tok))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			apierr.Write(w, apierr.Errorf(apierr.CodeUnauthorized, http.StatusUnauthorized, "metrics need the bearer token (HOOKRELAY_METRICS_TOKEN)"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// metricsServer is the listener of its own /metrics gets with
// metrics_addr; nil without it (then the public listener serves it).
func (a *App) newMetricsServer() *http.Server {
	if !a.cfg.MetricsEnabled || a.cfg.MetricsAddr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+api.MetricsPath, a.metricsHandler())
	return httpServer(mux, a.log)
}

// serveMetrics listens on metrics_addr and serves until the server is
// closed; it is a no-op without metrics_addr.
func (a *App) serveMetrics() error {
	if a.metricsSrv == nil {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", a.cfg.Key("metrics_addr"), a.cfg.MetricsAddr, err)
	}
	a.log.Info("metrics listening", "metrics_addr", ln.Addr().String())
	go func() {
		if err := a.metricsSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics listener stopped", "err", err)
		}
	}()
	return nil
}

// closeMetrics stops the metrics listener (after the drain: scrapes
// during it are useful).
func (a *App) closeMetrics() {
	if a.metricsSrv == nil {
		return
	}
	if err := a.metricsSrv.Close(); err != nil {
		a.log.Warn("close metrics listener", "err", err)
	}
}
