/* The reason phrases of the HTTP status codes this server sends (RFC 9110
 * 15): one table, for the status line (http/output) and the plain-text
 * error bodies (http/reply). Pure. */
#pragma once

/* "Not Found" for 404, ...; "" for a code without a phrase here (RFC 9112
 * 4: the reason phrase may be empty). Static. */
const char *http_status_reason(int status);
