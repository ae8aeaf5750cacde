/* MCP_POLICY_FILE reloading (docs/policy.md "Reloading"): on SIGHUP and
 * when the file changes, on the control loop. A bad new file keeps the
 * policy in force: one line names the error, the metric counts it, and the
 * next change (or SIGHUP) tries again. */
#pragma once

struct app;
struct event_base;
struct policy_reload;

/* Starts watching path for app (both borrowed; they outlive the result).
 * NULL path: nothing is watched and SIGHUP keeps its default action; the
 * result is then NULL too. */
struct policy_reload *policy_reload_start(struct event_base *base, struct app *app,
                                          const char *path);

/* Stops watching; NULL is fine. */
void policy_reload_free(struct policy_reload *pr);
