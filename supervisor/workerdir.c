/*
 * Finding the workers (see workerdir.h).
 */
#include "workerdir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

/* Beside exe, in the order a build tree and a moved install put them. */
static const char *const beside[] = {"../libexec", "../libexec/leafmon"};

static int
has_workers(const char *dir)
{
	char path[4300];

	if (snprintf(path, sizeof(path), "%s/leafmon-can", dir) >= (int)sizeof(path))
		return 0;
	return access(path, X_OK) == 0;
}

enum workerdir_origin
workerdir_find(const char *configured, const char *exe, char *out, size_t len)
{
	char dir[4096], real[PATH_MAX];

	if (configured != NULL && configured[0] != '\0') {
		snprintf(out, len, "%s", configured);
		return WD_CONFIGURED;
	}
	if (exe != NULL && strrchr(exe, '/') != NULL) {
		str_copy(dir, exe, sizeof(dir));
		*strrchr(dir, '/') = '\0';
		for (size_t i = 0; i < ARRAY_LEN(beside); i++) {
			char cand[4200];
			snprintf(cand, sizeof(cand), "%s/%s", dir, beside[i]);
			if (has_workers(cand) && realpath(cand, real) != NULL) {
				snprintf(out, len, "%s", real);
				return WD_BESIDE;
			}
		}
	}
	snprintf(out, len, "%s", config_builtin_worker_dir());
	return WD_INSTALLED;
}

const char *
workerdir_origin_name(enum workerdir_origin o)
{
	return o == WD_CONFIGURED ? "worker_dir" : o == WD_BESIDE ? "beside leafmond" : "installed";
}

void
workerdir_self_exe(char *out, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", out, len - 1);

	out[n > 0 ? n : 0] = '\0';
}
