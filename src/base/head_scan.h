/* The byte-level check of an HTTP/1 message head, shared by the request
 * parser (http/parser) and the upstream response parser (proxy/response):
 * RFC 9112 forbids a line
 * that starts with SP/HT (obs-fold, 5.2: "MUST reject") and an LF not
 * preceded by CR (2.2) -- both request-smuggling and response-splitting
 * vectors when two parsers read the bytes differently. llhttp's strict
 * mode refuses them too; this is the second layer, kept because the cost is
 * one memchr per line. Pure: no I/O, fed the head in any number of pieces. */
#pragma once

#include <stddef.h>

enum head_scan_rc {
    HEAD_SCAN_OK = 0,
    HEAD_SCAN_OBS_FOLD,
    HEAD_SCAN_BARE_LF,
    HEAD_SCAN_RC_COUNT,
};

/* Checks data[0..n) as the next piece of a head. *prev is the last byte of
 * the previous piece (0 before the first) and is updated on success. */
enum head_scan_rc head_scan_feed(unsigned char *prev, const char *data, size_t n);
