/* Every size, count and time cap in one place (STYLE.md 3.7), each citing
 * SPEC.md. A cap is checked before bytes are read or memory is reserved. */
#pragma once

/* Sealed tokens (SPEC.md 2.1): encoded length checked before decoding. */
#define BOUNDS_SEALED_MAX_CHARS 16384

/* Request bodies (SPEC.md 3.0.7, 3.2, 4.2). The MCP mount keeps SPEC's
 * 16 MiB. The OAuth endpoints are sized to what their requests can be,
 * not SPEC's 1 MiB (docs/conformance.md), measured in
 * tests/e2e/memory.test.mjs:
 *   /register  5 redirect URIs of 512 bytes, a 512-byte name and the usual
 *              RFC 7591 metadata: 3.3 KB (its client_id: 4.3 KB);
 *   /token     a code or refresh token (sealed, <= 16 384 chars), that
 *              client_id, redirect_uri, verifier, resource: ~22 KB; 38 KB
 *              even with a code and a refresh token both at the maximum;
 *   /consent   the sealed consent token (<= 16 384) and two short fields.
 * 64 KiB keeps a margin of almost two over the most a client could send;
 * every other route (GET endpoints, discovery) takes the same default. */
#define BOUNDS_OAUTH_BODY_MAX (64 * 1024)
/* The cap as the OAuth 413 error_description states it. */
#define BOUNDS_OAUTH_BODY_MAX_TEXT "64 KiB"
#define BOUNDS_MCP_BODY_MAX (16 * 1024 * 1024)
/* Buffered request bodies, process-wide and per client IP
 * (REQUEST_BODY_BUFFER_MAX, REQUEST_BODY_BUFFER_PER_IP_MAX): defaults and
 * the floor (one maximal MCP body must always fit one client). */
#define BOUNDS_BODY_BUFFER_DEFAULT (256 * 1024 * 1024)
#define BOUNDS_BODY_BUFFER_PER_IP_DEFAULT (32 * 1024 * 1024)
#define BOUNDS_BODY_BUFFER_MIN BOUNDS_MCP_BODY_MAX
/* Retry-After (seconds) on the 503 for a body over the budget. */
#define BOUNDS_BODY_BUFFER_RETRY_AFTER_S 1
/* Parameters decoded from one query string or form body (SPEC.md 3.0.7).
 * No OAuth request needs more than a few dozen; the cap bounds the work and
 * memory a 1 MiB body of "a&a&a..." could otherwise cost. */
#define BOUNDS_QUERY_PARAMS_MAX 1000

/* Request head (DESIGN.md "The HTTP layer"). Go allowed 1 MiB of headers;
 * no MCP or OAuth client needs more than a few KiB, so we keep it tight. */
#define BOUNDS_HEADER_BYTES_MAX (64 * 1024)
#define BOUNDS_HEADER_COUNT_MAX 100
#define BOUNDS_URL_MAX (16 * 1024)
#define BOUNDS_HEADER_NAME_MAX 256
/* Chunk extensions (RFC 9112 7.1.1) are parsed and dropped; their bytes per
 * message are capped so a trickle of them cannot run forever unseen. */
#define BOUNDS_CHUNK_EXT_BYTES_MAX 4096

/* Connection layer (DESIGN.md "The HTTP layer"). Pipelined input buffered
 * while a response is in progress; past it the client is flooding and is
 * cut off. */
#define BOUNDS_PIPELINE_INPUT_MAX (64 * 1024)
/* Client output back-pressure: above HIGH a producer should pause; it is
 * told to resume once the output drains to LOW (net/stream low water). */
#define BOUNDS_OUTPUT_HIGH_WATER (128 * 1024)
#define BOUNDS_OUTPUT_LOW_WATER (32 * 1024)
/* Response headers one response may carry (ours plus relayed upstream ones). */
#define BOUNDS_RESPONSE_HEADER_COUNT_MAX 256
/* Lingering close: after the last response byte, read and drop what the
 * client still sends (a refused body) for at most this long / this much,
 * so the response is not destroyed by a TCP reset. */
#define BOUNDS_LINGER_MS 2000
#define BOUNDS_LINGER_BYTES_MAX (1024 * 1024)
/* The decoded path shown in one access-log line. */
#define BOUNDS_LOG_PATH_MAX 2048
/* ACCESS_LOG_SKIP_RE runs on every request path, which clients choose.
 * PCRE2 backtracks (RE2 did not), so a pattern like (a+)+$ could be made
 * slow; these limits bound one match, and a match that hits them counts
 * as "no match" (the line is logged). */
#define BOUNDS_ACCESS_LOG_SKIP_MATCH_LIMIT 100000
#define BOUNDS_ACCESS_LOG_SKIP_DEPTH_LIMIT 1000

/* Log lines are appended to a per-worker buffer and written by one writer
 * thread, so a stalled stdout reader cannot stop an event loop (log.h).
 * 1 MiB holds ~3000 access lines of ~350 bytes, a few seconds of a busy
 * worker: enough to ride out a log shipper's hiccup or a container
 * runtime's pipe rotation, and 64 lines even at LOG_LINE_MAX (16 KiB).
 * Past it lines are dropped and counted, not queued without bound. Pages
 * are touched only as lines arrive, so idle workers cost no memory. */
#define BOUNDS_LOG_BUFFER_BYTES (1024 * 1024)
/* Buffers handed to threads (one per worker, WORKERS <= 256) plus the one
 * every other thread shares (main, control loop, JWKS refresh, DNS). */
#define BOUNDS_LOG_BUFFERS_MAX 257
/* The writer's sleep between checks when nothing wakes it (a safety net;
 * producers wake it as soon as a buffer gets its first line). */
#define BOUNDS_LOG_WRITER_IDLE_MS 1000
/* While lines keep coming the writer writes at most this often, one batch
 * per pass: producers then skip the wake-up call, and a line waits at most
 * this long (at 3000 lines/s a worker fills ~1% of its buffer meanwhile;
 * a buffer past half full cuts the pause short). */
#define BOUNDS_LOG_WRITER_LINGER_MS 10
/* At exit the buffered lines get this long to reach the sink: what is left
 * of SHUTDOWN_TIMEOUT, but at least MIN (so a drain that used the whole
 * timeout still flushes a healthy sink) and at most MAX (a stalled sink
 * delays the exit by no more than this). */
#define BOUNDS_LOG_EXIT_FLUSH_MIN_MS 200
#define BOUNDS_LOG_EXIT_FLUSH_MAX_MS 2000

/* Client connections (MAX_CLIENT_CONNECTIONS, _PER_IP). Per IP: an office
 * NAT of a hundred MCP clients, each with a stream and a request or two in
 * flight. The process cap, when not configured, is what RLIMIT_NOFILE
 * leaves after the fixed descriptors (listeners, Redis, curl, the idle
 * upstream pool of every worker), halved so each client connection can
 * have its upstream connection; never more than the AUTO_MAX. */
#define BOUNDS_CLIENT_CONNECTIONS_PER_IP_DEFAULT 256
#define BOUNDS_CLIENT_CONNECTIONS_AUTO_MAX 100000
/* ... and never fewer than this: with a descriptor limit that tight,
 * accept() failing with EMFILE (handled: accepting pauses) is the lesser
 * evil than a cap of a handful. */
#define BOUNDS_CLIENT_CONNECTIONS_AUTO_MIN 64
#define BOUNDS_FD_RESERVE_FIXED 64
#define BOUNDS_FD_RESERVE_PER_WORKER (BOUNDS_UPSTREAM_POOL_IDLE_MAX + 16)
/* accept() paused after EMFILE/ENFILE or at the process cap with nothing
 * idle to close; limit warnings are logged at most once per interval. */
#define BOUNDS_ACCEPT_PAUSE_MS 100
#define BOUNDS_LIMIT_LOG_INTERVAL_MS 10000
/* A client that does not read its response: output queued and nothing
 * drained to the kernel for this long closes the connection
 * (CLIENT_WRITE_STALL_TIMEOUT). A quiet stream with nothing queued is
 * never cut; TCP keep-alive finds a dead peer there. */
#define BOUNDS_CLIENT_WRITE_STALL_DEFAULT_MS 60000

/* Memory given back after a burst: the control loop checks every second
 * and calls malloc_trim(0) once buffered bodies fell this far below their
 * peak, or this many connections closed since the last trim. */
#define BOUNDS_MEMORY_TRIM_CHECK_MS 1000
#define BOUNDS_MEMORY_TRIM_BODY_BYTES (8 * 1024 * 1024)
#define BOUNDS_MEMORY_TRIM_CONNECTIONS 64
/* glibc's mmap threshold, fixed at its initial value (mallopt): larger
 * allocations are mapped and go back to the system when freed. */
#define BOUNDS_MALLOC_MMAP_THRESHOLD (128 * 1024)

/* Timeouts (SPEC.md 8.2). */
#define BOUNDS_HEAD_TIMEOUT_MS 10000
#define BOUNDS_BODY_TIMEOUT_MS 30000
#define BOUNDS_IDLE_TIMEOUT_MS 120000
/* Metrics listener (SPEC.md 3.10): read 5 s, write 30 s, idle 120 s. */
#define BOUNDS_METRICS_READ_TIMEOUT_MS 5000
#define BOUNDS_METRICS_WRITE_TIMEOUT_MS 30000
/* The Prometheus text of one /metrics scrape. */
#define BOUNDS_METRICS_TEXT_MAX (4 * 1024 * 1024)

/* /register (SPEC.md 3.2). */
#define BOUNDS_REDIRECT_URIS_MAX 5
#define BOUNDS_REDIRECT_URI_MAX_BYTES 512
#define BOUNDS_CLIENT_NAME_MAX_BYTES 512
/* A registration's `scope`, echoed in the response (RFC 7591 3.2.1). Real
 * clients send a handful of short tokens or "" (MCP Inspector 2.x). */
#define BOUNDS_REGISTER_SCOPE_MAX_BYTES 1024

/* MCP_SCOPES_SUPPORTED: at most this many tokens and this many bytes once
 * joined by single spaces. Every granted scope is a subset of it, so a
 * granted scope always fits BOUNDS_SCOPE_MAX_BYTES + 1 and a token carrying
 * it stays far below BOUNDS_SEALED_MAX_CHARS. A resource with more
 * permissions than this wants per-tool policy (issue 12), not scopes. */
#define BOUNDS_SCOPES_SUPPORTED_MAX 64
#define BOUNDS_SCOPE_MAX_BYTES 1024

/* OAuth error descriptions are cut to this many bytes (SPEC.md 3.0.5). */
#define BOUNDS_ERROR_DESCRIPTION_MAX 200
/* A JSON error body {"error":...,"error_description":...} (http/reply):
 * a short code and a description, each escaped (at most 6 bytes a byte). */
#define BOUNDS_ERROR_BODY_MAX (64 + 6 * 2 * BOUNDS_ERROR_DESCRIPTION_MAX)

/* The authorization flow (SPEC.md 2.4): a consent form lives 5 minutes (a
 * replay re-render keeps the original expiry), an IdP session 10 minutes. */
#define BOUNDS_CONSENT_TTL_S 300
#define BOUNDS_SESSION_TTL_S 600
/* URLs the flow builds (an error redirect carrying the client's state, the
 * IdP authorization URL carrying a sealed session) and the HTML pages
 * carrying a sealed consent token: a sealed token is at most
 * BOUNDS_SEALED_MAX_CHARS, a client state at most BOUNDS_URL_MAX bytes that
 * escaping can triple. */
#define BOUNDS_FLOW_URL_MAX (4 * BOUNDS_URL_MAX)
#define BOUNDS_FLOW_PAGE_MAX (128 * 1024)
/* Browser binding of the flow (ours, not in SPEC.md; docs/threat-model.md):
 * cookie pairs looked at over all Cookie lines of one request (Chromium
 * keeps at most 180 cookies per host, so a real browser never comes near
 * it), and the values of one binding-cookie name compared (the same name
 * can arrive more than once, e.g. with two paths). A Set-Cookie value we
 * build is far below BOUNDS_COOKIE_SET_MAX. */
#define BOUNDS_COOKIE_PAIRS_MAX 256
#define BOUNDS_COOKIE_SAME_NAME_MAX 4
#define BOUNDS_COOKIE_SET_MAX 256

/* Per-request arena: every request-scoped allocation comes from it. */
#define BOUNDS_REQUEST_ARENA_MAX (4 * 1024 * 1024)

/* Outbound control-plane responses: IdP discovery, JWKS, token (SPEC.md 6.3). */
#define BOUNDS_FETCH_RESPONSE_MAX (1024 * 1024)

/* JSON-RPC peek (SPEC.md 4.7). */
#define BOUNDS_RPC_METHOD_MAX 128
#define BOUNDS_RPC_TOOL_MAX 128
#define BOUNDS_RPC_ID_MAX 64
/* Batch entries recorded per request; later entries are forwarded but not
 * logged or counted (ours: Go kept them all, bounded only by the body). */
#define BOUNDS_RPC_BATCH_ENTRIES_MAX 256
/* Parameters looked at in a Content-Type value before the peek gives up
 * (ours: bounds the duplicate-parameter check of mime.ParseMediaType). */
#define BOUNDS_RPC_CONTENT_TYPE_PARAMS_MAX 16

/* Upstream redirects (SPEC.md 4.3) and header timeout (4.4). */
#define BOUNDS_UPSTREAM_HOPS_MAX 10
#define BOUNDS_UPSTREAM_HEADER_TIMEOUT_MS 30000
/* The upstream client (DESIGN.md "The forward"; Go's transport, SPEC.md
 * 4.4, kept 100 idle connections and dropped them after 90 s): idle
 * keep-alive connections kept per worker, how long one may stay idle (an
 * upstream's own shorter Keep-Alive timeout= hint, less a second, wins), and
 * the time to reach the upstream (DNS, TCP and TLS; Go allowed 30 s + 10 s).
 * A response head is capped like a request head. */
#define BOUNDS_UPSTREAM_POOL_IDLE_MAX 64
#define BOUNDS_UPSTREAM_IDLE_MS 90000
#define BOUNDS_UPSTREAM_CONNECT_TIMEOUT_MS 10000
#define BOUNDS_UPSTREAM_HEAD_BYTES_MAX (64 * 1024)
#define BOUNDS_UPSTREAM_HEADER_COUNT_MAX 200
/* Why one upstream connection failed: one sentence (proxy_upstream_error). */
#define BOUNDS_UPSTREAM_ERROR_MAX 191

/* net/ (docs/internals/net.md). DNS: answers kept per resolver (one per
 * worker pool and per Redis connection), their TTLs clamped to [MIN, MAX];
 * a failed or empty answer is kept for its SOA minimum, at most NEGATIVE;
 * distinct names looked up at once per resolver (more fail at once with a
 * clear error); addresses kept per name (RFC 8305 needs a few of each
 * family, not a hundred); the hosts file read per cache miss. RFC 8305 3:
 * with one family answered, wait this long for the other. */
#define BOUNDS_DNS_CACHE_ENTRIES_MAX 256
#define BOUNDS_DNS_TTL_MIN_S 5
#define BOUNDS_DNS_TTL_MAX_S 300
#define BOUNDS_DNS_NEGATIVE_TTL_MAX_S 5
#define BOUNDS_DNS_LOOKUPS_INFLIGHT_MAX 32
#define BOUNDS_DNS_ADDRS_MAX 16
#define BOUNDS_DNS_NAME_MAX 253
#define BOUNDS_DNS_HOSTS_FILE_MAX (1024 * 1024)
#define BOUNDS_DNS_RESOLUTION_DELAY_MS 50
/* Connection attempts (RFC 8305 5): the next address is tried this long
 * after the previous attempt started (at once when it fails); one attempt
 * gives up after ATTEMPT (never past the caller's overall deadline). */
#define BOUNDS_NET_CONNECT_STAGGER_MS 250
#define BOUNDS_NET_ATTEMPT_TIMEOUT_MS 5000
/* The "address: reason; ..." summary of a failed connect. */
#define BOUNDS_NET_ERROR_MAX 512

/* Per-subject concurrency limiter (SPEC.md 4.6): idle entries are reclaimed
 * after 5 min, the pruner runs every 2 min; the table tracks at most this
 * many subjects (ours: Go's map was unbounded). */
#define BOUNDS_SUBJECT_IDLE_MS (5 * 60 * 1000)
#define BOUNDS_SUBJECT_PRUNE_INTERVAL_MS (2 * 60 * 1000)
#define BOUNDS_SUBJECT_ENTRIES_MAX 100000
/* Bytes of a subject kept in its entry (OpenID Connect Core 2: a sub is at
 * most 255 ASCII characters); longer ones also match on a 64-bit hash of
 * the whole value. */
#define BOUNDS_SUBJECT_KEY_BYTES 255

/* In-process replay store (SPEC.md 5.6; ours: one share per kind instead of
 * one 100 000-entry table, store/memory.h). Records are fixed-size: 24 bytes
 * for a single-use claim, 40 for a refresh family, at most 4/3 slots per
 * entry, so a full share costs at most 32 / 54 bytes per entry:
 * consent, callback state and code shares 3.2 MB each, the refresh share
 * 53 MB, about 63 MB in all (test_store_memory.c,
 * test_memory_per_entry_bounded; measured: 1 000 000 families grew the
 * process RSS by 52.4 MiB, 53.7 bytes each). Below the limit a share is
 * at most twice its records' need (it doubles), never more than when full. Consent lives <= 5 min,
 * a callback state
 * <= 10 min, a code <= 60 s: 100 000 each is 300 logins a second
 * sustained. A refresh family lives 7 days past its last rotation: one per
 * login of the week, however often it rotates. */
#define BOUNDS_MEMORY_STORE_CONSENT_MAX 100000
#define BOUNDS_MEMORY_STORE_CALLBACK_STATE_MAX 100000
#define BOUNDS_MEMORY_STORE_AUTHZ_CODE_MAX 100000
#define BOUNDS_MEMORY_STORE_REFRESH_FAMILY_MAX 1000000
/* A full share sweeps its expired records at most this often before it
 * refuses (so a flood against a full share costs a lookup each, not a walk
 * of the table each), and warns at most this often. */
#define BOUNDS_MEMORY_STORE_FULL_SWEEP_MS 1000
#define BOUNDS_MEMORY_STORE_FULL_WARN_MS 60000

/* Replay-store keys, before the prefix: "<namespace>:<id>" (SPEC.md 5.2). */
#define BOUNDS_STORE_KEY_MAX 512

/* Redis client (SPEC.md 5.1: dial 2 s, read/write 500 ms, start-up PING
 * 3 s). A command that has no answer after the command timeout fails
 * closed and drops the connection, so a Redis that accepts and never
 * answers cannot wedge a worker. */
#define BOUNDS_REDIS_CONNECT_TIMEOUT_MS 2000
#define BOUNDS_REDIS_COMMAND_TIMEOUT_MS 500
#define BOUNDS_REDIS_STARTUP_CHECK_MS 3000
/* Timeouts set through REDIS_URL options are clamped to this. */
#define BOUNDS_REDIS_TIMEOUT_MAX_MS 60000
/* Reconnect backoff: doubles from the minimum to the maximum, jittered. */
#define BOUNDS_REDIS_BACKOFF_MIN_MS 100
#define BOUNDS_REDIS_BACKOFF_MAX_MS 5000
/* Commands awaiting a reply on one connection; more fail at once. */
#define BOUNDS_REDIS_INFLIGHT_MAX 4096
/* Replies: our commands get small answers, so anything larger is refused
 * before it is buffered (redis's own rule: never size from the peer). */
#define BOUNDS_REDIS_REPLY_PENDING_MAX (64 * 1024)
#define BOUNDS_REDIS_REPLY_STRING_MAX 4096
#define BOUNDS_REDIS_REPLY_ELEMENTS_MAX 8
/* REDIS_URL length accepted by the parser. */
#define BOUNDS_REDIS_URL_MAX 4096

/* /readyz (SPEC.md 5.5): cache a good answer 250 ms, a bad one 1 s; a
 * waiter gets "unavailable" if no probe answers within 1 s. */
#define BOUNDS_READYZ_CACHE_OK_MS 250
#define BOUNDS_READYZ_CACHE_FAIL_MS 1000
#define BOUNDS_READYZ_PROBE_TIMEOUT_MS 1000

/* OIDC upstream (SPEC.md 6). Discovery at start-up (6.1): attempts, the
 * per-attempt timeout and the doubling backoff between attempts. */
#define BOUNDS_OIDC_DISCOVERY_ATTEMPTS 5
#define BOUNDS_OIDC_DISCOVERY_TIMEOUT_MS 10000
#define BOUNDS_OIDC_DISCOVERY_BACKOFF_FIRST_MS 1000
#define BOUNDS_OIDC_DISCOVERY_BACKOFF_MAX_MS 15000
/* Code exchange (6.3): one deadline for the whole POST. */
#define BOUNDS_OIDC_EXCHANGE_TIMEOUT_MS 10000
/* JWKS (6.4, preface fix 6): fetch timeout, periodic refresh, and the
 * minimum gap between refreshes triggered by an unknown kid. */
#define BOUNDS_JWKS_FETCH_TIMEOUT_MS 10000
#define BOUNDS_JWKS_REFRESH_INTERVAL_MS (60 * 60 * 1000)
#define BOUNDS_JWKS_MIN_REFRESH_GAP_MS 30000
#define BOUNDS_JWKS_KEYS_MAX 100
/* id_token (6.4): the compact JWS, and its decoded header. A token with a
 * thousand 64-byte group names stays well under the first. */
#define BOUNDS_ID_TOKEN_MAX_BYTES (256 * 1024)
#define BOUNDS_ID_TOKEN_HEADER_MAX_BYTES 4096
/* Clock skew allowed on exp, iat and nbf (SPEC 6.4 keeps none on exp and
 * 5 min on nbf; one symmetric minute is the usual relying-party choice). */
#define BOUNDS_ID_TOKEN_SKEW_S 60

/* Per-IP rate limits (SPEC.md 3.0.3): requests per key per window. */
#define BOUNDS_RATE_WINDOW_MS 60000
#define BOUNDS_RATE_REGISTER_PER_WINDOW 10
#define BOUNDS_RATE_AUTHORIZE_PER_WINDOW 30
#define BOUNDS_RATE_CONSENT_PER_WINDOW 30
#define BOUNDS_RATE_CALLBACK_PER_WINDOW 30
#define BOUNDS_RATE_TOKEN_PER_WINDOW 60
#define BOUNDS_RATE_DISCOVERY_PER_WINDOW 60
#define BOUNDS_RATE_MCP_PER_WINDOW 600
/* POST /revoke (RFC 7009, issue 14): a token-holding client's rare call. */
#define BOUNDS_RATE_REVOKE_PER_WINDOW 30
/* RATE_LIMIT_<ENDPOINT>_PER_MIN and every named budget: 1 to this. */
#define BOUNDS_RATE_PER_WINDOW_MAX 1000000
/* RATE_LIMIT_CLIENT_BUDGETS / RATE_LIMIT_CIDR_BUDGETS: entries each. */
#define BOUNDS_RATE_NAMED_BUDGETS_MAX 256
/* /token and /authorize are keyed by address and client_id, and a client_id
 * is the caller's to invent: one address may spend at most this many times
 * the largest budget that can apply to it, over all its client_ids (per
 * replica), so inventing client_ids (or CIMD URLs, each a fetch) buys a
 * bounded amount, not an unbounded one. */
#define BOUNDS_RATE_CLIENTS_PER_ADDRESS_FACTOR 10
/* A client_id named in RATE_LIMIT_CLIENT_BUDGETS, after unescaping (a
 * CIMD URL; longer ids are not client_ids the proxy accepts anyway). */
#define BOUNDS_RATE_CLIENT_ID_MAX 2048
/* Live (bucket, key) counters the limiter keeps, over all buckets (about
 * 72 bytes each, so ~18 MiB at the cap); what happens at the cap is in
 * ratelimit.h. */
#define BOUNDS_RATELIMIT_ENTRIES_MAX (192 * 1024)
/* Rate-limit keys (SPEC.md 3.0.4): an address, or raw peer or legacy header
 * text, cut to this many bytes. */
#define BOUNDS_CLIENT_IP_KEY_MAX 128

/* REFRESH_RETRY_GRACE's cap: a retried refresh token is answered with the
 * successor it already got for at most this long after its rotation
 * (docs/internals/rotation.md). Past a few minutes a "retry" is no longer
 * a retry, and a stolen token should not stay useful. */
#define BOUNDS_REFRESH_RETRY_GRACE_MAX_S 300
/* Client ID Metadata Documents (oauth/cimd.h, docs/cimd.md). The document
 * cap is the draft's recommended 5 KB (draft-ietf-oauth-client-id-metadata-
 * document-01 6.6): real documents are 250-700 bytes (ChatGPT's, the
 * largest seen, ~700), so 5 KiB leaves room for ten redirect URIs of
 * ordinary length and keys inline, yet a hostile server cannot make each
 * lookup cost more than that. */
#define BOUNDS_CIMD_DOCUMENT_MAX 5120
#define BOUNDS_CIMD_DOCUMENT_MAX_TEXT "5 KiB"
/* The client_id URL itself: a short, stable URL is what the draft asks. */
#define BOUNDS_CIMD_URL_MAX_BYTES 512
/* A whole fetch, and its TCP + TLS connect. Clients (Claude.ai) give the
 * AS 10 s for /authorize and /token; a document that is not here in 5 s is
 * refused rather than making the user wait for the client's own timeout. */
#define BOUNDS_CIMD_FETCH_TIMEOUT_MS 5000
#define BOUNDS_CIMD_CONNECT_TIMEOUT_MS 3000
/* After a failed fetch (and nothing last-known-good to serve) the URL is
 * answered from the failure for this long, so a flood of /authorize
 * requests cannot turn into a flood of fetches; short, because the draft
 * (4.4) says errors are not to be cached. */
#define BOUNDS_CIMD_FAILURE_BACKOFF_S 10
/* Documents remembered per process (each at most the document cap plus
 * its parsed form); at the cap the least recently used idle entry goes. */
#define BOUNDS_CIMD_CACHE_ENTRIES_MAX 1024
/* Pinned documents read from CIMD_PINNED_DIR at start-up. */
#define BOUNDS_CIMD_PINNED_MAX 256
/* The policy file (MCP_POLICY_FILE, docs/policy.md). Hand-written by an
 * operator into a ConfigMap, so the caps are far above any real file (a
 * generous one is a few KiB and a few dozen rules) yet keep a load, and a
 * decision that walks every rule, small. */
#define BOUNDS_POLICY_FILE_MAX (256 * 1024)
#define BOUNDS_POLICY_RULES_MAX 512
/* Items in any one list of a rule or step_up (methods, names, groups,
 * scopes, email_domains, acr). */
#define BOUNDS_POLICY_LIST_MAX 64
#define BOUNDS_POLICY_STEP_UPS_MAX 32
/* Any one string in the file (a glob, a group, a scope, an acr value). */
#define BOUNDS_POLICY_STRING_MAX 512
#define BOUNDS_POLICY_RULE_NAME_MAX 64
/* step_up max_age: a year; beyond that "recent login" means nothing. */
#define BOUNDS_POLICY_MAX_AGE_MAX_S (366 * 24 * 3600)
/* A recorded auth_time this far in the future (IdP clock skew) still
 * counts; further and the login age is unknown, so max_age is unmet. */
#define BOUNDS_POLICY_AUTH_TIME_SKEW_S 60
/* A call's name (tool, prompt, resource URI) longer than this is not
 * matched against globs but refused as unreadable: globs cost
 * len(pattern) * len(name) at worst, and no real name is this long. */
#define BOUNDS_POLICY_CALL_NAME_MAX 4096
/* Entries of one JSON-RPC batch the policy decides; a longer batch is
 * refused as unreadable (MCP 2025-06-18 dropped batches; real clients send
 * none or a few). Keeps one request's decisions bounded. */
#define BOUNDS_POLICY_BATCH_MAX 256
/* How often the wiring looks at the policy file's inode, size and mtime
 * for a change (docs/policy.md "Reloading": polling, because a ConfigMap
 * update swaps a symlink that an inotify watch on the path never sees). */
#define BOUNDS_POLICY_POLL_MS 2000
/* A tools/prompts/resources list answer the policy filter buffers (proxy/
 * list_response.h, docs/list-filter.md): the whole JSON body, or the one
 * SSE event being read. Large real servers list ~100 tools in ~150 KiB
 * (schemas included); 4 MiB is 25 times that, yet one filtered list costs
 * at most ~4x it in memory (raw bytes, jansson's tree, the rewritten
 * text), so a user's MCP_PER_SUBJECT_CONCURRENCY lists stay far below
 * the 16 MiB request-body budget. Past it the client gets a JSON-RPC
 * error, never the unfiltered list. */
#define BOUNDS_LIST_FILTER_BODY_MAX (4 * 1024 * 1024)

/* Step-up (docs/step-up.md): the acr_values /authorize sends the IdP, the
 * union of the requested step-up scopes' acr lists. A few URNs fit easily;
 * the IdP's own URL cap (BOUNDS_FLOW_URL_MAX for ours) is far above it. */
#define BOUNDS_STEPUP_ACR_VALUES_MAX 1024
/* RFC 7523 private_key_jwt for CIMD clients (oauth/client_assertion.h,
 * docs/cimd.md). The assertion text: a few hundred bytes of claims and a
 * signature of at most 512 bytes (RSA-4096), so 8 KiB is generous. */
#define BOUNDS_CLIENT_ASSERTION_MAX_BYTES 8192
/* Clock skew allowed on the assertion's exp, nbf and iat. */
#define BOUNDS_CLIENT_ASSERTION_SKEW_S 60
/* Longest accepted lifetime, exp - now (and exp - iat when iat is given):
 * an assertion is made for one request, and its jti is remembered until
 * exp + skew, so this bounds the replay store's share too. */
#define BOUNDS_CLIENT_ASSERTION_LIFETIME_MAX_S 300
/* Longest jti kept (it is hashed with the client_id into the store key). */
#define BOUNDS_CLIENT_ASSERTION_JTI_MAX 256
/* A jwks_uri answer (a JWK Set of a few public keys; RSA-4096 is ~800
 * bytes as a JWK). */
#define BOUNDS_CIMD_JWKS_MAX 16384
/* A cached jwks_uri key set is fetched again on an unknown kid only when
 * the copy is older than this, so a flood of assertions naming made-up
 * kids costs at most one fetch per URL per this many seconds. */
#define BOUNDS_CIMD_JWKS_REFETCH_FLOOR_S 60
/* The identity assertion sent upstream (identity.h, docs/identity-assertion.md).
 * Lifetime: it is minted per request and checked by the upstream the moment
 * it arrives, so it only has to cover the hop plus clock skew between the
 * two hosts; 60 s does that while keeping a copied header useless soon
 * after (a replay window, not a session). */
#define BOUNDS_IDENTITY_ASSERTION_TTL_S 60
/* The assertion's size: its claims come from an access token (at most
 * BOUNDS_SEALED_MAX_CHARS sealed), base64url adds a third, the header and
 * signature are small. Also bounds the JSON payload before encoding. */
#define BOUNDS_IDENTITY_ASSERTION_MAX_BYTES (2 * BOUNDS_SEALED_MAX_CHARS + 1024)
/* Keys in UPSTREAM_IDENTITY_KEY_FILE: rotation needs two (old + new); a
 * few more leave room for an overlap without letting the JWKS grow. */
#define BOUNDS_IDENTITY_KEYS_MAX 8
/* One key file: a PEM P-256 key is ~240 bytes; 16 KiB leaves room for
 * comments or a certificate chain beside it, and nothing more is read. */
#define BOUNDS_IDENTITY_KEY_FILE_MAX_BYTES 16384
/* Cache-Control max-age of /.well-known/jwks.json: short, so a verifier
 * that cached the set sees a newly published key within minutes; jose's
 * createRemoteJWKSet also refetches at once on an unknown kid. */
#define BOUNDS_IDENTITY_JWKS_MAX_AGE_S 300
#define BOUNDS_IDENTITY_JWKS_MAX_AGE_TEXT "300"
/* The per-worker cache of opened access tokens (proxy/bearer_cache.h,
 * docs/internals/bearer-cache.md). Slots: direct-mapped by a keyed hash of
 * the token; a power of two. An entry (token bytes + the grant's strings)
 * over ENTRY_MAX is not kept, its token is opened on every use as before;
 * a typical token's entry is ~1 KiB. Past BYTES in all, entries are evicted
 * in slot order until the new one fits: a worker never holds more. */
#define BOUNDS_BEARER_CACHE_SLOTS 256
#define BOUNDS_BEARER_CACHE_ENTRY_MAX_BYTES 4096
#define BOUNDS_BEARER_CACHE_BYTES (256 * 1024)

/* net/stream: one recv per readiness reads at most this much (into a
 * per-thread scratch buffer); a full read is followed by another on the
 * next loop iteration, so a fast peer cannot starve the others. 16 KiB
 * less room for libevent's chunk header: a full read then fills one 16 KiB
 * evbuffer chunk instead of rounding up to a 32 KiB one. */
#define BOUNDS_STREAM_READ_SIZE (16 * 1024 - 256)

/* proxy/rpc_scan: keys held at once for the duplicate-key check (all the
 * objects open at one time together) and the longest batch scanned. A
 * body past either is answered by the jansson reference instead: same
 * answer, the old cost, for shapes no MCP client sends. */
#define BOUNDS_RPC_SCAN_KEYS_MAX 128
#define BOUNDS_RPC_SCAN_BATCH_MAX 256

/* store/redis_link: commands written together as one batch whose replies
 * reach one callback (SET NX + WAIT; ASKING + command). */
#define BOUNDS_REDIS_BATCH_MAX 4
/* REDIS_MIN_REPLICAS_ACK and REDIS_REPLICAS_ACK_TIMEOUT: a write waits at
 * most this long for its replicas (the request waits with it). */
#define BOUNDS_REDIS_MIN_REPLICAS_ACK_MAX 16
#define BOUNDS_REDIS_REPLICAS_ACK_TIMEOUT_MAX_MS 2000

/* Redis replies that nest (CLUSTER SHARDS / CLUSTER SLOTS, issue 14): at
 * most this many arrays deep (SHARDS: shards > shard > nodes > node), at
 * most this many elements in any one array, and at most this many objects
 * in one reply, counted as they are built -- so a reply is bounded in
 * memory even when its bytes arrive a chunk at a time (the pending-bytes
 * cap only sees the unparsed tail). Our other commands get flat replies of
 * a few elements, far inside these. */
#define BOUNDS_REDIS_REPLY_DEPTH_MAX 4
#define BOUNDS_REDIS_REPLY_ARRAY_MAX 1024
#define BOUNDS_REDIS_REPLY_OBJECTS_MAX 8192

/* Redis Cluster (store/redis_cluster*): primaries in a slot map (one
 * connection each per worker), nodes listed per shard, a node's host name
 * or address, redirections (MOVED/ASK) followed per command before it
 * fails closed, and the periodic slot-map refresh. */
#define BOUNDS_REDIS_CLUSTER_PRIMARIES_MAX 64
#define BOUNDS_REDIS_CLUSTER_SHARD_NODES_MAX 16
#define BOUNDS_REDIS_CLUSTER_HOST_MAX 255
#define BOUNDS_REDIS_CLUSTER_REDIRECTS_MAX 2
#define BOUNDS_REDIS_CLUSTER_REFRESH_MS 30000
/* -TRYAGAIN (a multi-key command while its keys' slot is mid-migration):
 * the command is sent once more after this delay, then fails closed. */
#define BOUNDS_REDIS_CLUSTER_TRYAGAIN_MS 50
/* Seed nodes named in a redis+cluster:// URL. */
#define BOUNDS_REDIS_CLUSTER_SEEDS_MAX 16
/* The revoked set (revocation/set.h, docs/internals/revocation.md). At
 * most ENTRIES_MAX live entries per process (~100 bytes each, measured in
 * the doc): past it the set fails closed -- every bearer token and refresh
 * is refused -- until a resync fits, because evicting would forget a
 * revocation. ID_MAX caps a family id or subject (OIDC caps sub at 255
 * ASCII characters). Expired entries are swept at most every SWEEP_MS. */
#define BOUNDS_REVOCATION_ENTRIES_MAX 1000000
#define BOUNDS_REVOCATION_ID_MAX 255
#define BOUNDS_REVOCATION_SWEEP_MS 30000
/* The subscriber (revocation/subscriber.h): a full resync from the sorted
 * set every RESYNC_MS and on every reconnect, read RESYNC_PAGE entries per
 * round trip (ZRANGEBYSCORE ... LIMIT); its replies may buffer up to
 * READ_PENDING_MAX bytes (a page of the longest members fits). A pub/sub
 * PING every PING_MS must be answered within the command timeout, or the
 * connection is dropped and rebuilt (and resynced). The start-up fill has
 * STARTUP_MS to read the whole set before the proxy refuses to start. */
#define BOUNDS_REVOCATION_RESYNC_MS 30000
#define BOUNDS_REVOCATION_RESYNC_PAGE 500
#define BOUNDS_REVOCATION_READ_PENDING_MAX (512 * 1024)
#define BOUNDS_REVOCATION_PING_MS 10000
#define BOUNDS_REVOCATION_STARTUP_MS 10000
/* Sentinel: how often the subscriber compares where its links are with
 * the primary the back end confirmed, and moves them when it changed. A
 * failover can leave the old node up (a replica now, or a candidate not
 * yet reconfigured that hears no PUBLISH) without dropping us. */
#define BOUNDS_REVOCATION_FOLLOW_MS 1000
/* `mcp-auth-proxy revoke` (wiring/revoke_cmd.h): after the start-up
 * check (REDIS_STARTUP_CHECK_MS), connecting and the revocation write
 * (and the family marker) share this budget; then the command gives up
 * with exit 1 rather than hang an operator's shell. */
#define BOUNDS_REVOKE_CMD_MS 5000

/* Redis Sentinel (store/redis_sentinel_proto): sentinels named in
 * REDIS_SENTINELS, the bytes of a host a sentinel names (a DNS name is at
 * most 253), and of REDIS_SENTINEL_MASTER (Sentinel's own names are short
 * words; a message naming a longer one is not ours). */
#define BOUNDS_REDIS_SENTINELS_MAX 16
#define BOUNDS_REDIS_SENTINEL_HOST_MAX 255
#define BOUNDS_REDIS_SENTINEL_MASTER_MAX 128
/* Sentinel discovery (store/redis_sentinel.c): every worker asks the
 * sentinels again this often even when nothing happened (a +switch-master
 * lost while the subscription was down is found within this), and a pass
 * that found no confirmed primary is retried after a wait doubling from
 * RETRY_MIN to BOUNDS_REDIS_BACKOFF_MAX_MS -- short, because requests get
 * 503 until a primary is confirmed. */
#define BOUNDS_REDIS_SENTINEL_REFRESH_MS 10000
#define BOUNDS_REDIS_SENTINEL_RETRY_MIN_MS 100

/* `mcp-auth-proxy doctor` (doctor/): each request's whole time and its
 * connect phase, the whole run (then every later check is reported as not
 * run), how soon a GET stream request without a token must be refused,
 * the bytes read of one answer, and the lengths of a URL and of a scope or
 * error text kept from an answer. ARRAY_MAX caps the entries of a metadata
 * list looked at. */
#define BOUNDS_DOCTOR_REQUEST_MS 5000
#define BOUNDS_DOCTOR_CONNECT_MS 3000
#define BOUNDS_DOCTOR_TOTAL_MS 60000
#define BOUNDS_DOCTOR_SSE_PROMPT_MS 3000
#define BOUNDS_DOCTOR_BODY_MAX (64 * 1024)
#define BOUNDS_DOCTOR_URL_MAX 2048
#define BOUNDS_DOCTOR_SCOPE_MAX 512
#define BOUNDS_DOCTOR_ARRAY_MAX 64

/* Metrics shards (metrics.h): one per worker (WORKERS <= 256) and one for
 * the control loop and any other thread. The request-path histograms and
 * gauges are written per shard without a lock and summed at scrape. */
#define BOUNDS_METRICS_SHARDS 257

/* W3C Trace Context (http/trace.h): tracestate forwarded upstream is at
 * most this many bytes (all its header lines joined) and list members,
 * the limits the recommendation sets for propagation. */
#define BOUNDS_TRACESTATE_MAX 512
#define BOUNDS_TRACESTATE_MEMBERS_MAX 32
