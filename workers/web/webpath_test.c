/* Static paths: traversal, hidden files, symlinks out of the root,
 * directories, and content types. */
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"
#include "util.h"
#include "webpath.h"

static void
test_webpath_check_segments(void)
{
	static const char *const ok[] = {"/", "/index.html", "/vendor/uPlot.min.css", "/a//b",
					 "/a-b_c.js", "/x..y"};
	static const char *const bad[] = {"",	   "index.html", "/..",	     "/../etc/passwd",
					  "/a/../b", "/a/./b",	   "/.",	     "/.git/config",
					  "/a\\..\\b", "/a\x01", "/vendor/..", "/a/.hidden"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (webpath_check(ok[i]) != 0)
			t_fail(__FILE__, __LINE__, "refused %s", ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (webpath_check(bad[i]) == 0)
			t_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
	char longp[700];
	memset(longp, 'a', sizeof(longp));
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	CHECK_INT(webpath_check(longp), ==, -1);
}

static void
test_webpath_resolve_stays_in_root(void)
{
	char root[PATH_MAX], p[PATH_MAX + 64], out[PATH_MAX];
	const char *tmp = t_tmpdir();
	snprintf(p, sizeof(p), "%s/root", tmp);
	mkdir(p, 0755);
	CHECK(realpath(p, root) != NULL);
	snprintf(p, sizeof(p), "%s/index.html", root);
	file_write_atomic(p, "<html>", 6, 0644);
	snprintf(p, sizeof(p), "%s/sub", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/secret.txt", tmp);
	file_write_atomic(p, "secret", 6, 0644);
	char link[PATH_MAX + 64];
	snprintf(link, sizeof(link), "%s/out.txt", root);
	CHECK_INT(symlink(p, link), ==, 0);

	CHECK_INT(webpath_resolve(root, "/", out, sizeof(out)), ==, 0);
	snprintf(p, sizeof(p), "%s/index.html", root);
	CHECK_STR(out, p);
	CHECK_INT(webpath_resolve(root, "/index.html", out, sizeof(out)), ==, 0);
	CHECK_INT(webpath_resolve(root, "/out.txt", out, sizeof(out)), ==, -1);
	CHECK_INT(webpath_resolve(root, "/sub", out, sizeof(out)), ==, -1);
	CHECK_INT(webpath_resolve(root, "/missing.js", out, sizeof(out)), ==, -1);
	CHECK_INT(webpath_resolve(root, "/../secret.txt", out, sizeof(out)), ==, -1);
	CHECK_INT(webpath_resolve(root, "/index.html/", out, sizeof(out)), ==, -1);
}

static void
test_webpath_unescape(void)
{
	char a[] = "/%2e%2E/x%41%zz%4", b[] = "/index.html%00.png", c[] = "%252e";
	CHECK_INT(webpath_unescape(a), ==, 11);
	CHECK_STR(a, "/../xA%zz%4");
	CHECK_INT(webpath_unescape(b), ==, 16);
	CHECK_INT(webpath_check(b), ==, -1);
	webpath_unescape(c);
	CHECK_STR(c, "%2e"); /* decoded once only */
}

static void
test_webpath_mime(void)
{
	CHECK_STR(webpath_mime("/x/index.html"), "text/html; charset=utf-8");
	CHECK_STR(webpath_mime("a.js"), "text/javascript; charset=utf-8");
	CHECK_STR(webpath_mime("uPlot.min.css"), "text/css; charset=utf-8");
	CHECK_STR(webpath_mime("favicon.svg"), "image/svg+xml");
	CHECK_STR(webpath_mime("noext"), "application/octet-stream");
}

T_MAIN(T(test_webpath_check_segments), T(test_webpath_resolve_stays_in_root),
       T(test_webpath_unescape), T(test_webpath_mime))
