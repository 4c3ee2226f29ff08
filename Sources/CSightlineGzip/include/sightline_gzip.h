// Gzip compression for HTTP bodies (OTLP requests and /metrics responses).
// Foundation on Linux has no gzip, and zlib's deflateInit2 is a macro Swift cannot call.
#ifndef SIGHTLINE_GZIP_H
#define SIGHTLINE_GZIP_H

#include <stddef.h>
#include <stdint.h>

// Compresses `length` bytes at `input` into a gzip member written to `output`, which holds
// `capacity` bytes. Returns the compressed length, or 0 when `output` is too small or zlib
// fails. `sightline_gzip_bound` gives a capacity that is always large enough.
size_t sightline_gzip(const uint8_t *input, size_t length, uint8_t *output, size_t capacity);

// An upper bound of the gzip size of `length` input bytes.
size_t sightline_gzip_bound(size_t length);

// Decompresses a gzip member. Returns the decompressed length, or 0 on malformed input or
// when `capacity` is too small.
size_t sightline_gunzip(const uint8_t *input, size_t length, uint8_t *output, size_t capacity);

#endif
