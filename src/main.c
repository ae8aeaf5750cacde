/* mcp-auth-proxy: argv, configuration, start-up, workers, signals, drain. */
#include <stdio.h>
#include <string.h>

#include "base/xalloc.h"
#include "version.h"

static void
print_version(void)
{
    printf("mcp-auth-proxy %s (commit %s, built %s)\n", MAP_VERSION, MAP_COMMIT,
           MAP_BUILD_TIME);
}

int
main(int argc, char **argv)
{
    if (!xalloc_install_library_hooks()) {
        fprintf(stderr, "fatal: could not install allocator hooks into OpenSSL\n");
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        print_version();
        return 0;
    }
    fprintf(stderr, "usage: mcp-auth-proxy [--check-config | --version | --help]\n");
    return 2;
}
