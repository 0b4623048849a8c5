/*
 * Dead-letter file writer (see deadletter.h).
 */
#include "deadletter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void
deadletter_init(struct deadletter *d, const char *path, uint64_t max_bytes)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->max_bytes = max_bytes ? max_bytes : 64u << 20;
}

static void
rotate_if_big(struct deadletter *d)
{
	struct stat st;
	char old[PATH_MAX + 4];
	if (stat(d->path, &st) < 0 || (uint64_t)st.st_size < d->max_bytes)
		return;
	snprintf(old, sizeof(old), "%s.1", d->path);
	if (rename(d->path, old) == -1)
		log_warn("dead letters: rotate %s", d->path);
}

int
deadletter_write(struct deadletter *d, int status, const char *msg, const char *const *lines,
		 const size_t *lens, size_t n, time_t now)
{
	struct buf b;
	struct tm tm;
	char when[32];

	buf_init(&b);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_printf(&b, "# %s HTTP %d, %zu line%s: ", when, status, n, n == 1 ? "" : "s");
	for (const char *p = msg; *p; p++)
		buf_putc(&b, *p == '\n' || *p == '\r' ? ' ' : *p);
	buf_putc(&b, '\n');
	for (size_t i = 0; i < n; i++) {
		buf_append(&b, lines[i], lens[i]);
		buf_putc(&b, '\n');
	}
	rotate_if_big(d);
	int fd = file_open_append(d->path, 0600);
	int rc = -1;
	if (fd >= 0 && !b.oom && write_all(fd, b.p, b.len) >= 0 && fdatasync(fd) == 0)
		rc = 0;
	int saved = errno;
	if (fd >= 0)
		close(fd);
	buf_free(&b);
	if (rc < 0) {
		d->failed += n;
		log_warnx("dead letters: %s: %s (%zu lines only in this log: see below)", d->path,
			  strerror(saved), n);
		for (size_t i = 0; i < n; i++)
			log_warnx("dead letter: %.*s", (int)lens[i], lines[i]);
		return -1;
	}
	d->lines += n;
	return 0;
}
