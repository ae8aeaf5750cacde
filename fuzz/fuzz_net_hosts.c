/* Fuzz target: the hosts-file reader (net/hosts.h) over any bytes -- the
 * file is local, but DNS_HOSTS_FILE may point anywhere and the parser must
 * never read past the text or overfill the answer. The first line of the
 * input is the name asked for, the rest is the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "net/hosts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    size_t name_len = nl != NULL ? (size_t)(nl - text) : size;
    char *name = xstrndup(text, name_len);
    size_t rest = nl != NULL ? size - name_len - 1 : 0;
    /* The file text is copied so a read past its end is caught by ASan. */
    char *file = xmalloc(rest + 1);
    memcpy(file, nl != NULL ? nl + 1 : "", rest);
    struct net_addrs out = {0};
    bool found = net_hosts_lookup(file, rest, name, &out);
    if (out.count > BOUNDS_DNS_ADDRS_MAX || (!found && out.count != 0)) {
        abort();
    }
    xfree(file);
    xfree(name);
    return 0;
}
