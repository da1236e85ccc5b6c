// clockbehind: an LD_PRELOAD shim that sets the wall clock of a process
// CLOCK_BEHIND_SECONDS behind (tests of a Redis primary whose clock is
// behind). Debian's libfaketime cannot be preloaded into redis-server: it
// deadlocks against jemalloc at start (libfaketime issue #130). This shim
// calls the kernel directly, never malloc or dlsym, so it cannot recurse.
// Only CLOCK_REALTIME (and gettimeofday, time) move; monotonic clocks stay
// real, so timeouts and replication behave.
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long behind(void) {
	static long secs = -1;
	if (secs < 0) {
		const char *v = getenv("CLOCK_BEHIND_SECONDS");
		secs = v ? atol(v) : 0;
	}
	return secs;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
	long r = syscall(SYS_clock_gettime, id, ts);
	if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
		ts->tv_sec -= behind();
	}
	return (int)r;
}

int gettimeofday(struct timeval *tv, void *tz) {
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
		return -1;
	}
	if (tv) {
		tv->tv_sec = ts.tv_sec;
		tv->tv_usec = ts.tv_nsec / 1000;
	}
	(void)tz;
	return 0;
}

time_t time(time_t *t) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (t) {
		*t = ts.tv_sec;
	}
	return ts.tv_sec;
}
