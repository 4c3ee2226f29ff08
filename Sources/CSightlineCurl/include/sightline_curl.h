// Non-variadic wrappers around libcurl's easy interface, which Swift cannot call directly
// (curl_easy_setopt and curl_easy_getinfo are variadic), plus a response buffer and an abort
// flag that live in C so that curl's callbacks need no Swift closures.
#ifndef SIGHTLINE_CURL_H
#define SIGHTLINE_CURL_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

CURLcode sightline_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode sightline_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode sightline_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode sightline_curl_setopt_offset(CURL *handle, CURLoption option, curl_off_t value);

CURLcode sightline_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode sightline_curl_getinfo_offset(CURL *handle, CURLINFO info, curl_off_t *value);

// What one transfer received, plus a flag another thread may set to abort transfers.
// Create one per easy handle; it must outlive the handle's transfers.
typedef struct sightline_curl_exchange sightline_curl_exchange;

// Creates an exchange whose body buffer keeps at most `body_limit` bytes (the rest of a
// longer body is dropped and `sightline_curl_exchange_truncated` reports it). NULL on
// allocation failure.
sightline_curl_exchange *sightline_curl_exchange_create(size_t body_limit);
void sightline_curl_exchange_destroy(sightline_curl_exchange *exchange);

// Points the handle's write and progress callbacks at the exchange.
CURLcode sightline_curl_exchange_attach(sightline_curl_exchange *exchange, CURL *handle);

// Forgets the previous response body (call before each transfer).
void sightline_curl_exchange_reset(sightline_curl_exchange *exchange);

const uint8_t *sightline_curl_exchange_body(const sightline_curl_exchange *exchange);
size_t sightline_curl_exchange_length(const sightline_curl_exchange *exchange);
int sightline_curl_exchange_truncated(const sightline_curl_exchange *exchange);

// Makes the current and every later transfer on the attached handle fail with
// CURLE_ABORTED_BY_CALLBACK. Safe to call from any thread.
void sightline_curl_exchange_abort(sightline_curl_exchange *exchange);

#endif
