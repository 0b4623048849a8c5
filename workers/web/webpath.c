/*
 * Static path checks. The segment rules catch traversal before the file
 * system is touched; realpath() then catches a symlink that points out of
 * the root.
 */
#include "webpath.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WEBPATH_MAX 512

int
webpath_check(const char *url)
{
	size_t len = strlen(url);
	if (len == 0 || len > WEBPATH_MAX || url[0] != '/')
		return -1;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return -1;
	for (const char *seg = url + 1; *seg;) {
		const char *slash = strchr(seg, '/');
		size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
		if (n > 0 && seg[0] == '.')
			return -1; /* ".", "..", hidden files */
		if (slash == NULL)
			break;
		seg = slash + 1;
	}
	return 0;
}

int
webpath_resolve(const char *root, const char *url, char *out, size_t cap)
{
	char joined[PATH_MAX], real[PATH_MAX];
	struct stat st;
	size_t rootlen = strlen(root);
	if (webpath_check(url) < 0)
		return -1;
	if (strcmp(url, "/") == 0)
		url = "/index.html";
	if (snprintf(joined, sizeof(joined), "%s%s", root, url) >= (int)sizeof(joined))
		return -1;
	if (realpath(joined, real) == NULL)
		return -1;
	if (strncmp(real, root, rootlen) != 0 || real[rootlen] != '/')
		return -1;
	if (stat(real, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	if (snprintf(out, cap, "%s", real) >= (int)cap)
		return -1;
	return 0;
}

size_t
webpath_unescape(char *s)
{
	char *w = s;
	for (const char *r = s; *r; r++) {
		int hi, lo;
		if (r[0] == '%' && (hi = hex_digit(r[1])) >= 0 && (lo = hex_digit(r[2])) >= 0) {
			char c = (char)(hi * 16 + lo);
			*w++ = c == '\0' ? '\x01' : c;
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

const char *
webpath_mime(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".html", "text/html; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".json", "application/json"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".ico", "image/x-icon"},
	    {".webmanifest", "application/manifest+json"},
	    {".txt", "text/plain; charset=utf-8"},
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}
