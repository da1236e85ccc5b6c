//go:build unix

package app

import "syscall"

// fileLimit returns the soft RLIMIT_NOFILE (unlimited is a huge number,
// which fits any max_connections).
func fileLimit() (uint64, bool) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, false
	}
	return r.Cur, true
}
