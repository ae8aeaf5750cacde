/* The standard process_* metrics, as the Prometheus client libraries
 * export them, read from /proc/self when the metrics are scraped (a few
 * small reads; nothing on the request path). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct metrics_process {
    double cpu_seconds;        /* user + system */
    uint64_t resident_bytes;   /* RSS */
    uint64_t virtual_bytes;    /* VSZ */
    uint64_t open_fds;         /* entries of /proc/self/fd */
    uint64_t max_fds;          /* RLIMIT_NOFILE soft limit */
    double start_time_seconds; /* since the epoch */
};

/* Reads the values of this process; false when /proc is unreadable (the
 * process_* families are then left out of the scrape). */
bool metrics_process_read(struct metrics_process *out);
