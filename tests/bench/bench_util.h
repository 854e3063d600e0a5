/* bench_util.h — what the benchmark's small tools share (each includes it
 * once: one program, one copy). */
#pragma once

#include <signal.h>
#include <stdint.h>
#include <time.h>

/* Set by SIGINT/SIGTERM: the tools finish what they measured and report. */
static volatile sig_atomic_t bench_quit;

static void bench_on_signal(int sig)
{
	(void)sig;
	bench_quit = 1;
}

/* Route SIGINT and SIGTERM to bench_quit; ignore SIGPIPE (errors come back
 * from the calls instead).  Context: main, at start. */
static inline void bench_signals(void)
{
	signal(SIGINT, bench_on_signal);
	signal(SIGTERM, bench_on_signal);
	signal(SIGPIPE, SIG_IGN);
}

/* Monotonic nanoseconds; CLOCK_MONOTONIC comes from the vDSO, no system
 * call.  Context: any. */
static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
