/* net/hosts: the hosts file (hosts(5)) answers names before DNS does, as
 * glibc's "files" source does: "localhost" keeps working, and so do names
 * a deployment pins there (Kubernetes hostAliases, /etc/hosts in a test
 * namespace).
 *
 * Pure: parses text the caller read; no I/O, no state. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "net/addr.h"

/* Every address the hosts-file text lists for name (ASCII case-insensitive;
 * a trailing dot on name is ignored), in file order, appended to *out
 * (ports 0) until it is full. Format, one entry a line:
 *     ::1          localhost ip6-localhost   # comment
 *     127.0.0.1    localhost
 * Lines that do not start with an IPv4 or IPv6 literal are skipped, as are
 * names after a '#'. Returns true when name was listed at all. */
bool net_hosts_lookup(const char *text, size_t len, const char *name, struct net_addrs *out);
