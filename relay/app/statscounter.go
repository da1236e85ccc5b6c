package app

import "github.com/prometheus/client_golang/prometheus"

// statsCounter exports one field of a package's plain counters (the infra
// packages keep those so they stay free of a metrics library) as a
// Prometheus counter read at scrape time.
func statsCounter[S any](stats func() S, name, help string, get func(S) uint64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
		func() float64 { return float64(get(stats())) })
}
