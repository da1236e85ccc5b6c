package app

import (
	"fmt"

	"github.com/hookrelay/hookrelay/infra/config"
)

// fdHeadroom is the file descriptors a relay needs besides its client
// connections: listeners, the Redis pools and Pub/Sub connections, the
// JWKS and AWS clients, logs. Generous: running out costs far more than a
// few hundred fewer clients.
const fdHeadroom = 512

// FitFileLimit lowers cfg.MaxConnections when the process's open-file
// limit (RLIMIT_NOFILE, soft; Go raises it to the hard limit at start)
// cannot hold that many clients plus fdHeadroom, and returns the warning
// to log ("" when it fits or the limit is unknown). I7 of the 2026-12
// review: the binary's default is 100 000 connections, a common nofile
// limit 65 536 or 1024.
//
// It lowers rather than only warns because the two failures differ: at
// max_connections the relay fails /readyz and refuses new clients with a
// retry hint, so the load balancer sends them elsewhere; out of file
// descriptors, accept and every Redis dial fail with EMFILE and the node
// breaks for the clients it already has.
func FitFileLimit(cfg *config.Config) string {
	soft, ok := fileLimit()
	if !ok {
		return ""
	}
	n, lowered := fitConnections(cfg.MaxConnections, soft)
	if !lowered {
		return ""
	}
	w := fmt.Sprintf("%s %d does not fit the open-file limit %d (RLIMIT_NOFILE) with %d descriptors of headroom: using %d; raise the limit (ulimit -n, the container's nofile) or lower %s",
		cfg.Key("max_connections"), cfg.MaxConnections, soft, fdHeadroom, n, cfg.Key("max_connections"))
	cfg.MaxConnections = n
	return w
}

// fitConnections returns the connections a file limit holds: max when it
// fits with fdHeadroom to spare, else what does (at least 1).
func fitConnections(max int, limit uint64) (int, bool) {
	if uint64(max)+fdHeadroom <= limit {
		return max, false
	}
	fit := limit / 2 // a tiny limit: keep half for everything else
	if limit > 2*fdHeadroom {
		fit = limit - fdHeadroom
	}
	n := int(min(uint64(max), fit, 1<<31-1))
	return n, n < max
}
