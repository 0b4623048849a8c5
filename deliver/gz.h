/*
 * gzip bodies (Content-Encoding: gzip) with zlib, for writers that pay for
 * bytes on the wire. Pure: memory to memory.
 */
#ifndef LEAFMON_GZ_H
#define LEAFMON_GZ_H

#include <stddef.h>

#include "util.h"

/* out = gzip(in) at level (1..9, 0: zlib's default). 0 or -1. */
int gz_compress(struct buf *out, const void *in, size_t len, int level);
/* out = gunzip(in) (tests, the fault proxy's twin in C). 0 or -1. */
int gz_decompress(struct buf *out, const void *in, size_t len);

#endif
