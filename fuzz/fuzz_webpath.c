/*
 * fuzz_webpath: a request path as MHD hands it over, percent-decoded by our
 * unescape callback, then the static-file check. Whatever passes must be
 * an absolute path without "." or ".." segments, hidden names, backslashes
 * or control bytes: the traversal rules hold for every input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void
assert_safe(const char *p)
{
	if (p[0] != '/' || strchr(p, '\\') != NULL || strstr(p, "/.") != NULL)
		abort();
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	size_t before = strlen(s);
	size_t after = webpath_unescape(s);
	if (after > before || after != strlen(s))
		abort();
	if (webpath_check(s) == 0)
		assert_safe(s);
	free(s);
	return 0;
}
