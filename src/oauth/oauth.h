/* The OAuth endpoints' handlers, one per file in src/oauth/ (STYLE.md 3.2),
 * registered by routes.c. Each is an http_handler_fn whose route argument
 * is the process's const struct app *. */
#pragma once

struct http_request;

/* GET /callback (SPEC.md 3.7): the IdP's return; answers now or after the
 * replay-store claim, the code exchange and the id_token check. */
void oauth_callback_handle(struct http_request *req, void *arg);

/* POST /token (SPEC.md 3.8): both grants; answers now or after the
 * client lookup and the replay-store claim. Every answer carries
 * Access-Control-Allow-Origin: * (SPEC preface fix 10). */
void oauth_token_handle(struct http_request *req, void *arg);
