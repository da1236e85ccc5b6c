package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hookrelay/hookrelay/infra/bus/redis"
	"github.com/hookrelay/hookrelay/infra/deliverylog"
	"github.com/hookrelay/hookrelay/infra/fleet"
	"github.com/hookrelay/hookrelay/infra/limit"
	"github.com/hookrelay/hookrelay/infra/webhook"
	"github.com/hookrelay/hookrelay/relay/console"
)

// operator is what a relay keeps for the operator console: the delivery
// log its webhook handler writes, its fleet record, and the console.
type operator struct {
	id       string
	logStore deliverylog.Store   // nil when delivery_log is off
	dlog     *deliverylog.Writer // nil when delivery_log is off
	fleet    fleet.Store
	stop     context.CancelFunc // stops the fleet refresher
	done     chan struct{}
}

// openOperator builds the delivery log and fleet stores on the bus's
// backend: Redis when the bus is Redis (shared with every relay and the
// ingest Lambda), memory otherwise (relay dev).
func (a *App) openOperator() error {
	host, _ := os.Hostname() // "" is fine: the random part keeps ids unique
	a.op.id = host + "-" + randomHex(3)
	var store deliverylog.Store
	if rb, ok := a.bus.(*redis.Bus); ok {
		store = deliverylog.NewRedis(rb.Client(), rb.Prefix(), a.cfg.DeliveryLogLimits())
		a.op.fleet = fleet.NewRedis(rb.Client(), rb.Prefix())
	} else {
		store = deliverylog.NewMemory(a.cfg.DeliveryLogLimits())
		a.op.fleet = fleet.NewMemory()
	}
	w, err := a.cfg.DeliveryLogWriter(store, a.op.id, a.log)
	if err != nil {
		return err
	}
	if w != nil {
		a.op.dlog, a.op.logStore = w, store
	}
	return nil
}

// consoleHandler is /console (it answers 404 without an admin key).
func (a *App) consoleHandler() http.Handler {
	trustProxy := a.cfg.TrustProxy
	o := console.Options{
		AdminKey: a.cfg.AdminKey,
		Fleet:    a.op.fleet,
		Bus:      a.bus,
		Closing:  a.closing,
		Logger:   a.log,
		ClientIP: func(r *http.Request) string { return limit.IPKey(limit.ClientIP(r, trustProxy)) },
	}
	if a.op.logStore != nil {
		o.Log = a.op.logStore
	}
	if a.hooks != nil {
		o.Hooks = webhook.NewConsole(a.hooks)
	}
	return console.New(o)
}

// startFleet refreshes this relay's fleet record until stopOperator.
func (a *App) startFleet(addr net.Addr) {
	ctx, cancel := context.WithCancel(context.Background())
	a.op.stop, a.op.done = cancel, make(chan struct{})
	started := time.Now()
	shown := fleetAddr(addr)
	go func() {
		defer close(a.op.done)
		fleet.Refresh(ctx, a.op.fleet, a.cfg.FleetTTL, func(ctx context.Context) fleet.Record {
			return a.fleetRecord(ctx, started, shown)
		}, a.log)
	}()
}

// stopOperator removes the fleet record and flushes the delivery log
// (before the bus closes).
func (a *App) stopOperator() {
	if a.op.stop != nil {
		a.op.stop()
		<-a.op.done
	}
	if a.op.dlog != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		a.op.dlog.Close(ctx)
		cancel()
	}
}

// fleetRecord describes this relay now, from its own metrics.
func (a *App) fleetRecord(ctx context.Context, started time.Time, addr string) fleet.Record {
	r := fleet.Record{ID: a.op.id, Version: Version(), Addr: addr, Started: started, Updated: time.Now(),
		Draining: a.draining.Load(), Connections: map[string]int{}}
	if host, err := os.Hostname(); err == nil {
		r.Host = host
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	t0 := time.Now()
	err := a.bus.Ready(pctx)
	cancel()
	r.Ready = err == nil && !r.Draining
	if err == nil && a.busKind == "redis" {
		r.RedisLatencyMicros = max(time.Since(t0).Microseconds(), 1)
	}
	if a.op.dlog != nil {
		r.LogDropped = a.op.dlog.Stats().Dropped
	}
	mfs, err := a.reg.Gather()
	if err != nil {
		a.log.Debug("fleet: gather metrics", "err", err)
	}
	var busPublished, apiPublished float64
	for _, mf := range mfs {
		switch mf.GetName() {
		case "hookrelay_connections":
			for _, m := range mf.GetMetric() {
				r.Connections[label(m, "transport")] += int(m.GetGauge().GetValue())
			}
		case "hookrelay_subscriptions":
			r.Topics = int(sum(mf))
		case "hookrelay_deliveries_total":
			r.Delivered = uint64(sum(mf))
		case "hookrelay_webhook_requests_total":
			r.Webhooks = uint64(sum(mf))
		case "hookrelay_bus_published_total":
			busPublished = sum(mf)
		case "hookrelay_api_published_events_total":
			apiPublished = sum(mf)
		}
	}
	// The Redis bus counts every publish of this relay (API, WebSocket,
	// webhooks); the memory bus has no counter, so the API's stands in.
	r.Published = uint64(max(busPublished, apiPublished))
	return r
}

func sum(mf *dto.MetricFamily) float64 {
	var s float64
	for _, m := range mf.GetMetric() {
		switch {
		case m.Counter != nil:
			s += m.GetCounter().GetValue()
		case m.Gauge != nil:
			s += m.GetGauge().GetValue()
		}
	}
	return s
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// fleetAddr shows where the relay listens, with the host name for an
// unspecified address (":8080" behind a load balancer).
func fleetAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return net.JoinHostPort(host, port)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// registerDeliveryLogStats exports the delivery log writer's counters.
func registerDeliveryLogStats(reg prometheus.Registerer, w *deliverylog.Writer) {
	counter := func(name, help string, get func(deliverylog.Stats) uint64) prometheus.Collector {
		return statsCounter(w.Stats, name, help, get)
	}
	reg.MustRegister(
		counter("hookrelay_delivery_log_written_total", "Delivery log entries stored.",
			func(s deliverylog.Stats) uint64 { return s.Written }),
		counter("hookrelay_delivery_log_dropped_total", "Delivery log entries dropped because the writer's queue was full (the webhook answer never waits).",
			func(s deliverylog.Stats) uint64 { return s.Dropped }),
		counter("hookrelay_delivery_log_failed_total", "Delivery log entries lost to a store error.",
			func(s deliverylog.Stats) uint64 { return s.Failed }),
	)
}
