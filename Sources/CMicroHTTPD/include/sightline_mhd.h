// A non-variadic face for libmicrohttpd, whose MHD_start_daemon Swift cannot call.
#ifndef SIGHTLINE_MHD_H
#define SIGHTLINE_MHD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <microhttpd.h>

// Called on a libmicrohttpd thread once per request, before any request body is read. The
// handler must answer with sightline_mhd_respond before it returns.
typedef void (*sightline_mhd_request_handler)(void *context, struct MHD_Connection *connection,
                                              const char *method, const char *url);

// A running daemon with its handler.
struct sightline_mhd_server;

// Starts a daemon with its own polling thread on `listen_fd`, a socket already bound and
// listening (it becomes the daemon's and is closed by sightline_mhd_stop). At most
// `connection_limit` connections are served at once; idle ones close after
// `timeout_seconds`. Returns NULL when libmicrohttpd refuses to start.
struct sightline_mhd_server *sightline_mhd_start(int listen_fd, unsigned int connection_limit,
                                                 unsigned int timeout_seconds,
                                                 sightline_mhd_request_handler handler,
                                                 void *context);

// Stops the daemon, waiting for its threads, and frees the server.
void sightline_mhd_stop(struct sightline_mhd_server *server);

// The value of a request header, or NULL when absent.
const char *sightline_mhd_header(struct MHD_Connection *connection, const char *name);

// Queues a response whose body is copied. `content_encoding` may be NULL. Returns 1 when the
// response was queued, 0 otherwise.
int sightline_mhd_respond(struct MHD_Connection *connection, unsigned int status,
                          const char *content_type, const char *content_encoding,
                          const uint8_t *body, size_t length);

#endif
