/* Policy file reloading (see policy_reload.h). */
#include "wiring/policy_reload.h"

#include <event2/event.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "log.h"
#include "wiring/app.h"

/* What identifies one version of a file: a ConfigMap update swaps a
 * symlink, so the path's target (inode) changes; an in-place edit changes
 * size or mtime. exists false: stat failed. */
struct file_id {
    bool exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct policy_reload {
    struct app *app;
    const char *path;
    struct file_id seen;
    struct event *sighup_ev;
    struct event *poll_ev;
};

static struct file_id
file_id(const char *path)
{
    struct file_id id = {0};
    struct stat st;
    if (stat(path, &st) == 0) {
        id = (struct file_id){.exists = true,
                              .dev = st.st_dev,
                              .ino = st.st_ino,
                              .size = st.st_size,
                              .mtime = st.st_mtim};
    }
    return id;
}

static bool
file_id_eq(const struct file_id *a, const struct file_id *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void
reload(struct policy_reload *pr, const char *trigger)
{
    pr->seen = file_id(pr->path);
    struct buf err;
    buf_init(&err, 1024);
    if (app_reload_policy(pr->app, &err) != 0) {
        struct log_line l;
        log_begin(&l, LOG_ERROR, "policy_reload_failed");
        log_str(&l, "trigger", trigger);
        log_str(&l, "file", pr->path);
        log_str(&l, "error", buf_cstr(&err));
        log_end(&l);
    }
    buf_cleanup(&err);
}

static void
on_sighup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    reload(arg, "sighup");
}

/* Polled, not watched: a ConfigMap volume updates by swapping the ..data
 * symlink, which an inotify watch on the file's path never reports, and a
 * watch on the directory ties us to kubelet's layout. A stat every
 * BOUNDS_POLICY_POLL_MS costs nothing. */
static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct policy_reload *pr = arg;
    struct file_id now = file_id(pr->path);
    if (!file_id_eq(&now, &pr->seen)) {
        reload(pr, "file_changed");
    }
}

struct policy_reload *
policy_reload_start(struct event_base *base, struct app *app, const char *path)
{
    if (path == NULL) {
        return NULL;
    }
    struct policy_reload *pr = xcalloc(1, sizeof(*pr));
    pr->app = app;
    pr->path = path;
    pr->seen = file_id(path);
    pr->sighup_ev = evsignal_new(base, SIGHUP, on_sighup, pr);
    pr->poll_ev = event_new(base, -1, EV_PERSIST, on_poll, pr);
    struct timeval tv = clock_timeval_from_ms(BOUNDS_POLICY_POLL_MS);
    event_add(pr->sighup_ev, NULL);
    event_add(pr->poll_ev, &tv);
    return pr;
}

void
policy_reload_free(struct policy_reload *pr)
{
    if (pr == NULL) {
        return;
    }
    event_free(pr->sighup_ev);
    event_free(pr->poll_ev);
    xfree(pr);
}
