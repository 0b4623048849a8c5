/*
 * Clocks, fd and file helpers, strict parsers, and the growable buffer.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t
clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

int64_t
now_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t
now_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int64_t
now_boot_ns(void)
{
	return clock_ns(CLOCK_BOOTTIME);
}

int
fd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

int
fd_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);
	if (fl == -1 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

ssize_t
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int
mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	if (str_copy(tmp, path, sizeof(tmp)) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
dir_make_trusted(const char *path, mode_t mode, char *why, size_t len)
{
	struct stat st;

	if (mkdir_p(path, mode) < 0 || stat(path, &st) < 0) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		snprintf(why, len, "%s is not a directory", path);
	else if (st.st_uid != geteuid())
		snprintf(why, len,
			 "%s belongs to uid %u, not to us (uid %u): someone else made it; refusing "
			 "to use it (remove it, or set another directory)",
			 path, (unsigned)st.st_uid, (unsigned)geteuid());
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		snprintf(why, len,
			 "%s is writable by %s (mode %04o): refusing to use it (chmod go-w %s)",
			 path, st.st_mode & S_IWOTH ? "others" : "its group",
			 (unsigned)(st.st_mode & 07777), path);
	else
		return 0;
	errno = EPERM;
	return -1;
}

int
file_create(const char *path, int flags, mode_t mode)
{
	if (unlink(path) == -1 && errno != ENOENT)
		return -1;
	return open(path, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
}

int
file_open_append(const char *path, mode_t mode)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
}

int
fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	if (str_copy(dir, path, sizeof(dir)) < 0)
		return -1;
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* data into path.new, then renamed over path; durable: fsynced first and
 * the directory after (a power cut leaves the old file or the new one). */
static int
replace_file(const char *path, const void *data, size_t len, mode_t mode, bool durable)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = file_create(tmp, O_WRONLY, mode);
	if (fd == -1)
		return -1;
	if (write_all(fd, data, len) < 0 || (durable && fsync(fd) == -1)) {
		int saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return durable ? fsync_dir_of(path) : 0;
}

int
file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	return replace_file(path, data, len, mode, true);
}

int
file_replace(const char *path, const void *data, size_t len, mode_t mode)
{
	return replace_file(path, data, len, mode, false);
}

char *
file_read_str(const char *path, size_t max, size_t *lenp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return NULL;
	char *s = fd_read_str(fd, max, lenp);
	int saved = errno;
	close(fd);
	errno = saved;
	return s;
}

char *
fd_read_str(int fd, size_t max, size_t *lenp)
{
	struct buf b;
	buf_init(&b);
	char chunk[4096];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == -1) {
				int saved = errno;
				buf_free(&b);
				errno = saved;
				return NULL;
			}
			break;
		}
		if (b.len + (size_t)n > max) {
			buf_free(&b);
			errno = EFBIG;
			return NULL;
		}
		buf_append(&b, chunk, (size_t)n);
	}
	if (buf_str(&b) == NULL || b.oom) {
		buf_free(&b);
		errno = ENOMEM;
		return NULL;
	}
	if (lenp != NULL)
		*lenp = b.len;
	return b.p;
}

int
parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
parse_double(const char *s, double *out)
{
	char *end;
	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

int
str_copy(char *dst, const char *src, size_t len)
{
	size_t n = strlen(src);
	if (len == 0)
		return -1;
	if (n >= len) {
		memcpy(dst, src, len - 1);
		dst[len - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

bool
str_starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The length of the valid, shortest-form UTF-8 sequence at p (code point in
 * *cp), 0 when there is none. */
static size_t
utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3
				     : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
	uint32_t c = len == 1 ? p[0] : p[0] & (0x7F >> len);

	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3F);
	}
	if (c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

static bool
is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7F && c < 0xA0);
}

bool
str_is_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c;

	for (size_t i = 0, k; i < len; i += k)
		if ((k = utf8_seq(p + i, len - i, &c)) == 0 || is_control(c))
			return false;
	return true;
}

int
str_escape(char *dst, size_t cap, const char *src)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t n = strlen(src), out = 0;
	uint32_t c;

	if (cap == 0)
		return -1;
	for (size_t i = 0, k; i < n; i += k) {
		k = utf8_seq(p + i, n - i, &c);
		bool plain = k > 0 && !is_control(c);
		size_t need = plain ? k : 4;
		if (!plain)
			k = 1;
		if (out + need >= cap) {
			dst[out] = '\0';
			return -1;
		}
		if (plain)
			memcpy(dst + out, p + i, k);
		else
			snprintf(dst + out, 5, "\\x%02x", p[i]);
		out += need;
	}
	dst[out] = '\0';
	return 0;
}

void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
buf_free(struct buf *b)
{
	free(b->p);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->oom = 0;
}

int
buf_reserve(struct buf *b, size_t extra)
{
	if (b->oom)
		return -1;
	if (b->len + extra + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

int
buf_append(struct buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) < 0)
		return -1;
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	if (buf_reserve(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *
buf_str(struct buf *b)
{
	if (buf_reserve(b, 0) < 0)
		return NULL;
	b->p[b->len] = '\0';
	return b->p;
}
