#include "net/sockopt.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static int
set_int(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof(value));
}

int
net_sockopt_keepalive(int fd, const struct net_keepalive *ka)
{
    if (ka->idle_s == 0) {
        if (set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 0) != 0) {
            return -1;
        }
    } else if (set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1) != 0 ||
               set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, (int)ka->idle_s) != 0 ||
               set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, (int)ka->interval_s) != 0 ||
               set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, (int)ka->count) != 0) {
        return -1;
    }
    /* Always set, so 0 restores the kernel default on a reused socket. */
    return set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, (int)ka->user_timeout_ms);
}

int
net_sockopt_nodelay(int fd)
{
    return set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
}
