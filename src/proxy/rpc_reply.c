#include "proxy/rpc_reply.h"

#include <string.h>

#include "base/buf.h"
#include "http/reply.h"

void
proxy_rpc_reply_error(struct http_request *req, int status, const char *id_json, int code,
                      const char *message)
{
    struct buf body;
    buf_init(&body, 128 + strlen(id_json) + strlen(message));
    if (buf_appendf(&body,
                    "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":%d,\"message\":\"%s\"}}\n",
                    id_json, code, message) != 0) {
        http_reply_error(req, 500);
    } else {
        http_reply_json(req, status, body.ptr, body.len);
    }
    buf_cleanup(&body);
}
