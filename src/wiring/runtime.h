/* The running server: start-up after the configuration, the worker
 * threads, signals and the graceful drain (SPEC.md 8).
 *
 * runtime_run() logs "starting", builds the app and the route table, binds
 * the metrics listener (METRICS_ADDR; a bind failure is fatal, SPEC
 * preface fix 8) and one public listener per worker (LISTEN_ADDR,
 * SO_REUSEPORT), logs "metrics_listening" and "listening", and serves until
 * a signal. The first SIGTERM/SIGINT logs "shutting_down", turns /readyz
 * 503 at once, stops accepting, closes idle keep-alive connections and
 * lets in-flight requests and streams finish for up to SHUTDOWN_TIMEOUT;
 * then the process exits 0. A second signal logs
 * "shutdown_forced_second_signal" and exits 2 at once. */
#pragma once

struct config;

/* Returns the process exit status: 0 after a drain, 1 when start-up failed
 * (the reason logged and printed to stderr). cfg is borrowed and must stay
 * valid until it returns. Blocks the calling thread, which becomes the
 * control loop (signals, metrics listener). */
int runtime_run(const struct config *cfg);
