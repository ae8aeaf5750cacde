/* Socket addresses as values (see addr.h). */
#include "net/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

bool
net_addr_parse_ip(const char *host, unsigned port, union net_sockaddr *out)
{
    union net_sockaddr a;
    memset(&a, 0, sizeof(a));
    if (inet_pton(AF_INET, host, &a.in.sin_addr) == 1) {
        a.in.sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, host, &a.in6.sin6_addr) == 1) {
        a.in6.sin6_family = AF_INET6;
    } else {
        return false;
    }
    net_addr_set_port(&a, port);
    *out = a;
    return true;
}

bool
net_addr_is_ip(const char *host)
{
    union net_sockaddr a;
    return net_addr_parse_ip(host, 0, &a);
}

socklen_t
net_addr_len(const union net_sockaddr *a)
{
    return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

void
net_addr_set_port(union net_sockaddr *a, unsigned port)
{
    if (a->sa.sa_family == AF_INET6) {
        a->in6.sin6_port = htons((uint16_t)port);
    } else {
        a->in.sin_port = htons((uint16_t)port);
    }
}

void
net_addr_format(const union net_sockaddr *a, char out[NET_ADDR_TEXT_MAX])
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port;
    if (a->sa.sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &a->in6.sin6_addr, ip, sizeof(ip));
        port = ntohs(a->in6.sin6_port);
        if (port != 0) {
            snprintf(out, NET_ADDR_TEXT_MAX, "[%s]:%u", ip, port);
        } else {
            snprintf(out, NET_ADDR_TEXT_MAX, "%s", ip);
        }
        return;
    }
    inet_ntop(AF_INET, &a->in.sin_addr, ip, sizeof(ip));
    port = ntohs(a->in.sin_port);
    if (port != 0) {
        snprintf(out, NET_ADDR_TEXT_MAX, "%s:%u", ip, port);
    } else {
        snprintf(out, NET_ADDR_TEXT_MAX, "%s", ip);
    }
}

static bool
same_addr(const union net_sockaddr *x, const union net_sockaddr *y)
{
    if (x->sa.sa_family != y->sa.sa_family) {
        return false;
    }
    if (x->sa.sa_family == AF_INET6) {
        return memcmp(&x->in6.sin6_addr, &y->in6.sin6_addr, sizeof(x->in6.sin6_addr)) == 0 &&
               x->in6.sin6_port == y->in6.sin6_port;
    }
    return x->in.sin_addr.s_addr == y->in.sin_addr.s_addr && x->in.sin_port == y->in.sin_port;
}

bool
net_addr_same_ip(const union net_sockaddr *x, const union net_sockaddr *y)
{
    if (x->sa.sa_family != y->sa.sa_family) {
        return false;
    }
    if (x->sa.sa_family == AF_INET6) {
        return memcmp(&x->in6.sin6_addr, &y->in6.sin6_addr, sizeof(x->in6.sin6_addr)) == 0;
    }
    return x->in.sin_addr.s_addr == y->in.sin_addr.s_addr;
}

bool
net_addrs_add(struct net_addrs *list, const union net_sockaddr *a)
{
    for (size_t i = 0; i < list->count; i++) {
        if (same_addr(&list->addr[i], a)) {
            return true;
        }
    }
    if (list->count >= BOUNDS_DNS_ADDRS_MAX) {
        return false;
    }
    list->addr[list->count++] = *a;
    return true;
}
