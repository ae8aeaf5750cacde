#include "app.h"

#include "base/xalloc.h"
#include "oauth/oauth.h"

struct app *
app_new(const struct config *cfg)
{
    struct app *app = xcalloc(1, sizeof(*app));
    app->cfg = cfg;
    app->discovery = oauth_discovery_new(cfg);
    return app;
}

void
app_free(struct app *app)
{
    if (app == NULL) {
        return;
    }
    oauth_discovery_free(app->discovery);
    xfree(app);
}
