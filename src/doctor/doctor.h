/* `mcp-auth-proxy doctor <https://host/mcp> [--json] [--ca-file FILE]
 * [--origin ORIGIN]`: replays, against a live deployment, what each major
 * MCP client does first, and says per client whether it would connect and
 * what to fix. Needs no configuration and sends no credential.
 * Exit: 0 every client passes, 1 some fail, 2 usage or unreachable. */
#pragma once

#define DOCTOR_EXIT_OK 0
#define DOCTOR_EXIT_FAIL 1
#define DOCTOR_EXIT_USAGE 2

/* argv[0] is the program, argv[1] "doctor". */
int doctor_main(int argc, char **argv);
