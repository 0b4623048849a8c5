/*
 * Finding the workers: worker_dir wins; else a build tree's libexec beside
 * leafmond, or a moved install's libexec/leafmon; else the installed dir.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "config.h"
#include "t.h"
#include "util.h"
#include "workerdir.h"

static void
touch_exec(const char *dir, const char *name, mode_t mode)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK(file_write_atomic(path, "#!/bin/sh\n", 10, mode) == 0);
}

static void
test_workerdir_order(void)
{
	char *root = t_tmpdir(), exe[600], dir[600], out[4096], want[4096];

	/* a build tree: build/supervisor/leafmond, build/libexec/leafmon-can */
	snprintf(exe, sizeof(exe), "%s/build/supervisor/leafmond", root);
	snprintf(dir, sizeof(dir), "%s/build/libexec", root);
	CHECK(mkdir_p(dir, 0755) == 0);
	snprintf(out, sizeof(out), "%s/build/supervisor", root);
	CHECK(mkdir_p(out, 0755) == 0);
	CHECK_INT(workerdir_find("", exe, out, sizeof(out)), ==, WD_INSTALLED); /* none there */
	CHECK_STR(out, config_builtin_worker_dir());
	touch_exec(dir, "leafmon-can", 0644); /* not executable: not a worker */
	CHECK_INT(workerdir_find("", exe, out, sizeof(out)), ==, WD_INSTALLED);
	touch_exec(dir, "leafmon-can", 0755);
	CHECK_INT(workerdir_find("", exe, out, sizeof(out)), ==, WD_BESIDE);
	CHECK(realpath(dir, want) != NULL);
	CHECK_STR(out, want);
	/* worker_dir still wins */
	CHECK_INT(workerdir_find("/opt/w", exe, out, sizeof(out)), ==, WD_CONFIGURED);
	CHECK_STR(out, "/opt/w");
	/* an install under another prefix: PREFIX/sbin, PREFIX/libexec/leafmon */
	snprintf(exe, sizeof(exe), "%s/opt/sbin/leafmond", root);
	snprintf(dir, sizeof(dir), "%s/opt/sbin", root);
	CHECK(mkdir_p(dir, 0755) == 0);
	snprintf(dir, sizeof(dir), "%s/opt/libexec/leafmon", root);
	CHECK(mkdir_p(dir, 0755) == 0);
	touch_exec(dir, "leafmon-can", 0755);
	CHECK_INT(workerdir_find(NULL, exe, out, sizeof(out)), ==, WD_BESIDE);
	CHECK(realpath(dir, want) != NULL);
	CHECK_STR(out, want);
	/* no executable path known */
	CHECK_INT(workerdir_find(NULL, "", out, sizeof(out)), ==, WD_INSTALLED);
	CHECK_STR(workerdir_origin_name(WD_BESIDE), "beside leafmond");
}

T_MAIN(T(test_workerdir_order))
