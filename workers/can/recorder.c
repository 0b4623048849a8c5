/*
 * The raw recorder (see recorder.h).
 */
#include "recorder.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "logfmt.h"
#include "util.h"

int
recorder_open(struct recorder *r, const char *statedir, int max_mb)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "%s/recordings", statedir);
	if (mkdir_p(r->dir, 0750) < 0)
		return -1;
	r->total_max = (uint64_t)(max_mb > 0 ? max_mb : 512) << 20;
	r->file_max = r->total_max / 8 < (1 << 20) ? (1 << 20) : r->total_max / 8;
	for (int b = 0; b < BUS_COUNT; b++)
		snprintf(r->iface[b], sizeof(r->iface[b]), "%s", can_bus_name((unsigned)b));
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

uint64_t
recorder_prune(const char *dir, uint64_t max_bytes)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *names[4096], path[600];
	uint64_t sizes[4096], total = 0;
	size_t n = 0;
	struct stat st;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < 4096) {
		if (strncmp(e->d_name, "can-", 4) != 0 || strstr(e->d_name, ".log") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) < 0 || (names[n] = strdup(e->d_name)) == NULL)
			continue;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str); /* names sort by time */
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		sizes[i] = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
		total += sizes[i];
	}
	for (size_t i = 0; i + 1 < n && total > max_bytes; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (unlink(path) == 0)
			total -= sizes[i];
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return total;
}

static int
rotate(struct recorder *r, int64_t now_real)
{
	char path[600];
	time_t t = (time_t)(now_real / NSEC_PER_SEC);
	struct tm tm;

	if (r->fp != NULL)
		fclose(r->fp);
	gmtime_r(&t, &tm);
	snprintf(path, sizeof(path), "%s/can-%04d%02d%02d-%02d%02d%02d-%llu.log", r->dir,
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned long long)r->files);
	int fd = file_open_append(path, 0640);
	r->fp = fd >= 0 ? fdopen(fd, "a") : NULL;
	r->file_bytes = 0;
	if (r->fp == NULL) {
		if (fd >= 0)
			close(fd);
		r->errors++;
		return -1;
	}
	setvbuf(r->fp, NULL, _IOFBF, 1 << 16);
	r->files++;
	recorder_prune(r->dir, r->total_max);
	return 0;
}

void
recorder_write(struct recorder *r, const struct can_rec *f, int64_t now_real)
{
	char line[200];
	int n;

	if ((r->fp == NULL || r->file_bytes >= r->file_max) && rotate(r, now_real) < 0)
		return;
	n = logfmt_candump(line, sizeof(line), f, r->iface[f->bus < BUS_COUNT ? f->bus : 0]);
	if (n <= 0 || fwrite(line, 1, (size_t)n, r->fp) != (size_t)n) {
		r->errors++;
		return;
	}
	r->file_bytes += (uint64_t)n;
	r->frames++;
}

void
recorder_flush(struct recorder *r)
{
	if (r->fp != NULL && fflush(r->fp) != 0)
		r->errors++;
}

void
recorder_close(struct recorder *r)
{
	if (r->fp != NULL)
		fclose(r->fp);
	r->fp = NULL;
}
