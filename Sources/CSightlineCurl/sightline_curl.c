#include "sightline_curl.h"

#include <stdlib.h>
#include <string.h>

CURLcode sightline_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode sightline_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode sightline_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode sightline_curl_setopt_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode sightline_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

CURLcode sightline_curl_getinfo_offset(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

struct sightline_curl_exchange {
    uint8_t *body;
    size_t length;
    size_t limit;
    int truncated;
    int aborted; // read and written with __atomic builtins only
};

sightline_curl_exchange *sightline_curl_exchange_create(size_t body_limit) {
    sightline_curl_exchange *exchange = calloc(1, sizeof(*exchange));
    if (exchange == NULL) return NULL;
    exchange->body = malloc(body_limit > 0 ? body_limit : 1);
    if (exchange->body == NULL) {
        free(exchange);
        return NULL;
    }
    exchange->limit = body_limit;
    return exchange;
}

void sightline_curl_exchange_destroy(sightline_curl_exchange *exchange) {
    if (exchange == NULL) return;
    free(exchange->body);
    free(exchange);
}

// Keeps what fits in the buffer but always reports the whole chunk as consumed: a large
// error page must not fail the transfer, it is only cut short.
static size_t sightline_curl_write(char *data, size_t size, size_t count, void *context) {
    sightline_curl_exchange *exchange = context;
    size_t total = size * count;
    size_t room = exchange->limit - exchange->length;
    size_t kept = total < room ? total : room;
    if (kept > 0) {
        memcpy(exchange->body + exchange->length, data, kept);
        exchange->length += kept;
    }
    if (kept < total) exchange->truncated = 1;
    return total;
}

// Returning non-zero from the progress callback makes curl abort the transfer.
static int sightline_curl_progress(
    void *context, curl_off_t download_total, curl_off_t downloaded, curl_off_t upload_total,
    curl_off_t uploaded) {
    (void)download_total;
    (void)downloaded;
    (void)upload_total;
    (void)uploaded;
    sightline_curl_exchange *exchange = context;
    return __atomic_load_n(&exchange->aborted, __ATOMIC_ACQUIRE) != 0;
}

CURLcode sightline_curl_exchange_attach(sightline_curl_exchange *exchange, CURL *handle) {
    CURLcode code = curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, sightline_curl_write);
    if (code == CURLE_OK) code = curl_easy_setopt(handle, CURLOPT_WRITEDATA, exchange);
    if (code == CURLE_OK) {
        code = curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, sightline_curl_progress);
    }
    if (code == CURLE_OK) code = curl_easy_setopt(handle, CURLOPT_XFERINFODATA, exchange);
    if (code == CURLE_OK) code = curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
    return code;
}

void sightline_curl_exchange_reset(sightline_curl_exchange *exchange) {
    exchange->length = 0;
    exchange->truncated = 0;
}

const uint8_t *sightline_curl_exchange_body(const sightline_curl_exchange *exchange) {
    return exchange->body;
}

size_t sightline_curl_exchange_length(const sightline_curl_exchange *exchange) {
    return exchange->length;
}

int sightline_curl_exchange_truncated(const sightline_curl_exchange *exchange) {
    return exchange->truncated;
}

void sightline_curl_exchange_abort(sightline_curl_exchange *exchange) {
    __atomic_store_n(&exchange->aborted, 1, __ATOMIC_RELEASE);
}
