/* The public route table (SPEC.md 3.0.2), built once at start-up into the
 * router every worker shares. Each subsystem adds its routes here, with
 * their options (body cap, head check, rate-limit bucket). */
#pragma once

struct app;
struct http_router;

/* Registers every public route. app is borrowed and outlives the router;
 * handlers receive what they need of it as their route argument. */
void routes_build(struct http_router *r, const struct app *app);
/* Registers the forward-auth listener's one route (FORWARD_AUTH_ADDR,
 * proxy/forward_auth.h). */
void routes_build_forward_auth(struct http_router *r, const struct app *app);
