/*
 * gzip with zlib's deflate (windowBits 15 + 16 selects the gzip wrapper).
 */
#include "gz.h"

#include <string.h>
#include <zlib.h>

int
gz_compress(struct buf *out, const void *in, size_t len, int level)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, level > 0 ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	buf_reset(out);
	size_t bound = deflateBound(&z, (uLong)len);
	if (buf_reserve(out, bound) < 0) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out->p;
	z.avail_out = (uInt)bound;
	int rc = deflate(&z, Z_FINISH);
	out->len = z.total_out;
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

int
gz_decompress(struct buf *out, const void *in, size_t len)
{
	z_stream z;
	unsigned char chunk[16384];
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return -1;
	buf_reset(out);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	int rc;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END)
			break;
		buf_append(out, chunk, sizeof(chunk) - z.avail_out);
	} while (rc != Z_STREAM_END);
	inflateEnd(&z);
	return rc == Z_STREAM_END && !out->oom ? 0 : -1;
}
