#include "app.h"

#include "base/xalloc.h"

struct app *
app_new(const struct config *cfg)
{
    struct app *app = xcalloc(1, sizeof(*app));
    app->cfg = cfg;
    return app;
}

void
app_free(struct app *app)
{
    if (app == NULL) {
        return;
    }
    xfree(app);
}
