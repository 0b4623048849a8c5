/*
 * Static files: which URL paths may name a file under the web root, and
 * which file they name. A path is refused (404) when any segment is empty
 * of meaning (".", ".."), hidden (".x"), or carries a backslash or a
 * control byte; the resolved real path must still lie under the root.
 */
#ifndef LEAFMON_WEBPATH_H
#define LEAFMON_WEBPATH_H

#include <stddef.h>

/* Pure check of an (already percent-decoded) URL path. 0 ok, -1 refused. */
int webpath_check(const char *url);
/* root: a real path (no trailing slash). On success out holds the real path
 * of a regular file under root ("/" means index.html). 0, or -1. */
int webpath_resolve(const char *root, const char *url, char *out, size_t cap);
/* Percent-decoding of URL paths and query values in place (MHD's unescape
 * callback). A decoded NUL becomes 0x01, which every check here refuses,
 * so "/index.html%00.png" cannot pass as "/index.html". Returns the length. */
size_t webpath_unescape(char *s);
/* Content-Type for a file name by its extension. */
const char *webpath_mime(const char *path);

#endif
