//go:build !unix

package app

// fileLimit: no RLIMIT_NOFILE here.
func fileLimit() (uint64, bool) { return 0, false }
