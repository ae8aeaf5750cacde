/* The limit-log throttle: events at a cap (a connection refused or
 * evicted, accept failing, a request body over its budget) are logged at
 * most once per BOUNDS_LIMIT_LOG_INTERVAL_MS each, process-wide, because
 * the caps are process-wide: a flood at a cap is one line every few
 * seconds, while the metrics count every event.
 *
 * Its own module because both http/server.c (accept, connection caps) and
 * http/conn.c (body budget) log such events, and the connection must not
 * reach back into the server for it. Lock-free (one atomic per event);
 * callable from every worker thread. */
#pragma once

#include <stdbool.h>

enum http_limit_log {
    HTTP_LIMIT_LOG_ACCEPT_FAILED = 0,
    HTTP_LIMIT_LOG_PROCESS_LIMIT,
    HTTP_LIMIT_LOG_IP_LIMIT,
    HTTP_LIMIT_LOG_BODY_PROCESS,
    HTTP_LIMIT_LOG_BODY_IP,
    HTTP_LIMIT_LOG_COUNT,
};

/* True when this event may be logged now (and records that it was). */
bool http_limit_log_due(enum http_limit_log which);
