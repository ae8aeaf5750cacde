#include "metrics_process.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The decimal digits at p (none: 0); proc(5)'s numbers are plain. */
static unsigned long long
digits(const char *p)
{
    unsigned long long v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned long long)(*p - '0');
        p++;
    }
    return v;
}

/* Seconds since the epoch at boot (/proc/stat's btime), read once. */
static _Atomic long long boot_time_s = -1;

static long long
boot_time(void)
{
    long long bt = atomic_load(&boot_time_s);
    if (bt >= 0) {
        return bt;
    }
    FILE *f = fopen("/proc/stat", "re");
    if (f == NULL) {
        return -1;
    }
    char line[256];
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "btime ", 6) == 0) {
            bt = (long long)digits(line + 6);
            break;
        }
    }
    fclose(f);
    if (bt >= 0) {
        atomic_store(&boot_time_s, bt);
    }
    return bt;
}

bool
metrics_process_read(struct metrics_process *out)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen("/proc/self/stat", "re");
    if (f == NULL) {
        return false;
    }
    char text[1024];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    /* The command name may hold spaces and parentheses: the fields start
     * after the last ')'. Then state is field 3; utime 14, stime 15,
     * starttime 22, vsize 23, rss 24 (proc(5)). */
    char *p = strrchr(text, ')');
    if (p == NULL) {
        return false;
    }
    unsigned long long v[25] = {0};
    unsigned field = 3;
    p += 2; /* ") " */
    while (*p != '\0' && field <= 24) {
        char *end = p;
        while (*end != ' ' && *end != '\0' && *end != '\n') {
            end++;
        }
        if (field >= 4) {
            v[field] = digits(p);
        }
        field++;
        p = *end == ' ' ? end + 1 : end;
    }
    if (field <= 24) {
        return false;
    }
    long tick = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    if (tick <= 0 || page <= 0) {
        return false;
    }
    out->cpu_seconds = (double)(v[14] + v[15]) / (double)tick;
    out->virtual_bytes = v[23];
    out->resident_bytes = v[24] * (unsigned long long)page;
    long long bt = boot_time();
    out->start_time_seconds = bt >= 0 ? (double)bt + (double)v[22] / (double)tick : 0;
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] != '.') {
                out->open_fds++;
            }
        }
        out->open_fds--; /* the directory's own descriptor */
        closedir(d);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        out->max_fds = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
    }
    return true;
}
