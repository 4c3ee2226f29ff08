#include "sightline_mhd.h"

#include <stdlib.h>

struct sightline_mhd_server {
    struct MHD_Daemon *daemon;
    sightline_mhd_request_handler handler;
    void *context;
};

// The marker stored in *request_state after the first call of a request, so that the
// handler runs once even when libmicrohttpd calls back again for a request body.
static int request_seen;

static enum MHD_Result sightline_mhd_access(void *cls, struct MHD_Connection *connection,
                                            const char *url, const char *method,
                                            const char *version, const char *upload_data,
                                            size_t *upload_data_size, void **request_state) {
    (void)version;
    (void)upload_data;
    struct sightline_mhd_server *server = cls;
    if (*request_state != NULL) {
        // A later call for a body we do not read: discard it.
        *upload_data_size = 0;
        return MHD_YES;
    }
    *request_state = &request_seen;
    server->handler(server->context, connection, method, url);
    return MHD_YES;
}

struct sightline_mhd_server *sightline_mhd_start(int listen_fd, unsigned int connection_limit,
                                                 unsigned int timeout_seconds,
                                                 sightline_mhd_request_handler handler,
                                                 void *context) {
    struct sightline_mhd_server *server = calloc(1, sizeof(*server));
    if (server == NULL) {
        return NULL;
    }
    server->handler = handler;
    server->context = context;
    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC;
    server->daemon = MHD_start_daemon(flags, 0, NULL, NULL, sightline_mhd_access, server,
                                      MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
                                      MHD_OPTION_CONNECTION_LIMIT, connection_limit,
                                      MHD_OPTION_CONNECTION_TIMEOUT, timeout_seconds,
                                      MHD_OPTION_END);
    if (server->daemon == NULL) {
        free(server);
        return NULL;
    }
    return server;
}

void sightline_mhd_stop(struct sightline_mhd_server *server) {
    if (server == NULL) {
        return;
    }
    MHD_stop_daemon(server->daemon);
    free(server);
}

const char *sightline_mhd_header(struct MHD_Connection *connection, const char *name) {
    return MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
}

int sightline_mhd_respond(struct MHD_Connection *connection, unsigned int status,
                          const char *content_type, const char *content_encoding,
                          const uint8_t *body, size_t length) {
    struct MHD_Response *response =
        MHD_create_response_from_buffer(length, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (response == NULL) {
        return 0;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(response, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
    if (content_encoding != NULL) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_ENCODING, content_encoding);
    }
    enum MHD_Result queued = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return queued == MHD_YES ? 1 : 0;
}
