package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Drain timing. The whole drain (grace + client closes + shutdown) fits in
// HOOKRELAY_DRAIN_GRACE + HOOKRELAY_DRAIN_TIMEOUT, which must fit in the
// load balancer's deregistration delay (docs/operations.md).
const (
	// drainSpreadShare is the part of the drain timeout over which client
	// closes are spread; the rest is left for the last batch to flush and
	// for http.Server.Shutdown.
	drainSpreadNum, drainSpreadDen = 3, 4
	// minShutdown is the least time http.Server.Shutdown gets, even when
	// the client closes used the whole drain timeout.
	minShutdown = time.Second
)

// run serves on ln until ctx is done (SIGTERM/SIGINT), then drains; a
// closed force (a second signal) cuts the drain short.
func (a *App) Run(ctx context.Context, ln net.Listener, force <-chan struct{}) error {
	if err := a.serveMetrics(); err != nil {
		a.Close()
		return err
	}
	errc := make(chan error, 1)
	a.startFleet(ln.Addr())
	go func() { errc <- a.srv.Serve(ln) }()
	select {
	case err := <-errc:
		a.Close()
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	a.drain(force)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// drain is the graceful shutdown:
//  1. readiness fails (/readyz 503), so the load balancer marks the target
//     unhealthy / finishes deregistering it and sends no new connections;
//  2. after DrainGrace, the hub closes clients in staggered batches with
//     jitter over most of DrainTimeout (WS 1012, SSE close event after a
//     retry: hint), so they reconnect to the other nodes without a
//     stampede and resume from their cursors;
//  3. http.Server.Shutdown finishes in-flight requests (publishes,
//     webhooks) and closes the listener;
//  4. the hub, the token verifier and the bus are closed.
func (a *App) drain(force <-chan struct{}) {
	start := time.Now()
	grace, timeout := a.cfg.DrainGrace, a.cfg.DrainTimeout
	deadline := start.Add(grace + timeout)
	a.draining.Store(true)
	close(a.closing)
	// Idle keep-alive connections would carry a reconnecting client's next
	// request straight back to this node (a TCP balancer, or a browser
	// reusing its socket), where new streams are refused until exit:
	// closing them after their current request sends that request through
	// the load balancer to another node.
	a.srv.SetKeepAlivesEnabled(false)
	a.log.Info("drain: readiness failing", "phase", "unready", "grace", grace.String(),
		"timeout", timeout.String(), "connections", a.hub.Connections())
	if grace > 0 {
		// The only thing to do now is let the load balancer notice.
		t := time.NewTimer(grace)
		select {
		case <-t.C:
		case <-force:
			t.Stop()
		}
	}

	spread := timeout * drainSpreadNum / drainSpreadDen
	a.log.Info("drain: closing clients", "phase", "close_clients", "connections", a.hub.Connections(), "spread", spread.String())
	dctx, cancel := context.WithDeadline(context.Background(), deadline.Add(-minShutdown))
	go func() {
		select {
		case <-force:
			a.log.Warn("drain: second signal, closing the remaining clients at once", "phase", "forced")
			cancel()
		case <-dctx.Done():
		}
	}()
	a.hub.Drain(dctx, spread)
	cancel()
	a.log.Info("drain: clients closed", "phase", "clients_closed", "remaining", a.hub.Connections(),
		"elapsed", time.Since(start).Round(time.Millisecond).String())

	sctx, cancel := context.WithDeadline(context.Background(), maxTime(deadline, time.Now().Add(minShutdown)))
	defer cancel()
	if err := a.srv.Shutdown(sctx); err != nil {
		a.log.Warn("drain: shutdown deadline reached, closing remaining connections", "phase", "shutdown", "err", err)
		if err := a.srv.Close(); err != nil {
			a.log.Warn("drain: close server", "err", err)
		}
	}
	a.Close()
	a.log.Info("drain: done", "phase", "done", "elapsed", time.Since(start).Round(time.Millisecond).String())
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
