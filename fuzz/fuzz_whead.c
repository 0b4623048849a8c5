/*
 * fuzz_whead: a request head as it sits in the socket before libmicrohttpd
 * reads it (the web worker answers a bad Content-Length itself). The
 * verdict must not depend on bytes after the head, and a head cut short
 * is never judged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "whead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const char *p = (const char *)data;
	enum whead_verdict v = whead_check(p, len, 4096);
	const char *end = len >= 4 ? memmem(p, len, "\r\n\r\n", 4) : NULL;
	if ((end == NULL) != (v == WHEAD_MORE))
		abort();
	if (end != NULL) {
		size_t head = (size_t)(end - p) + 4;
		if (whead_check(p, head, 4096) != v) /* what follows is the body */
			abort();
		if (whead_check(p, head - 1, 4096) != WHEAD_MORE)
			abort();
	}
	return 0;
}
