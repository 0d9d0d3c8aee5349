#ifndef SCEPTER_BENCH_SUPPORT_H
#define SCEPTER_BENCH_SUPPORT_H

#include <spawn.h>
#include <stdint.h>

/// Pins the calling thread to `cpu`, or lets it run on every CPU when `cpu` < 0.
/// Returns 0, or errno.
int bench_pin_current_thread(int cpu);

/// CPU time consumed by the calling thread, in nanoseconds.
int64_t bench_thread_cpu_ns(void);

/// Monotonic wall clock, in nanoseconds.
int64_t bench_monotonic_ns(void);

/// Clock ticks per second of /proc/<pid>/stat (USER_HZ).
long bench_clock_ticks_per_second(void);

/// Adds "close every descriptor from `lowest` up" to `actions` (glibc's
/// posix_spawn_file_actions_addclosefrom_np, hidden from Swift without
/// _GNU_SOURCE), so a spawned server inherits none of the harness's sockets.
/// Returns 0, or an errno.
int bench_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest);

#endif
