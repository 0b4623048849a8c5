/*
 * Small helpers shared by every process: clocks, fds, files, strict number
 * parsing and a growable byte buffer.
 */
#ifndef LEAFMON_UTIL_H
#define LEAFMON_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NSEC_PER_SEC 1000000000LL
#define NSEC_PER_MSEC 1000000LL
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

int64_t now_mono_ns(void);
int64_t now_real_ns(void);
int64_t now_boot_ns(void);

int fd_nonblock(int fd);
int fd_cloexec(int fd);
ssize_t write_all(int fd, const void *buf, size_t len);
int mkdir_p(const char *path, mode_t mode);
/*
 * RUNDIR and STATEDIR: made (mode) when absent, then trusted only when they
 * are a directory owned by us and writable by nobody else, as ssh and tmux
 * demand of theirs: someone else's /tmp/leafmon-$UID could hold symlinks to
 * our files. 0, or -1 with the reason in why.
 */
int dir_make_trusted(const char *path, mode_t mode, char *why, size_t len);
/*
 * Create path afresh for writing: whatever was there (a stale file, a
 * symlink) is unlinked first, and the open never follows a symlink nor
 * reuses a file (O_CREAT | O_EXCL | O_NOFOLLOW). flags: O_WRONLY or O_RDWR.
 */
int file_create(const char *path, int flags, mode_t mode);
/* Open path for appending, created when absent, never through a symlink. */
int file_open_append(const char *path, mode_t mode);
/* Write data to path atomically: path.new (file_create), fsync, rename,
 * fsync the dir. */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same without fsync: survives a crash of the process (the page cache
 * is the kernel's), not necessarily a power cut. */
int file_replace(const char *path, const void *data, size_t len, mode_t mode);
/* Read a whole (small) file into a NUL-terminated malloc'd string. */
char *file_read_str(const char *path, size_t max, size_t *lenp);
/* The same from an open fd (left open); EFBIG beyond max bytes. */
char *fd_read_str(int fd, size_t max, size_t *lenp);
int fsync_dir_of(const char *path);

/* Strict parsers: the whole string must be a number in range. 0 or -1. */
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int parse_double(const char *s, double *out);
int parse_bool(const char *s, bool *out);

/* Bounded copy that always terminates; returns -1 when it truncated. */
int str_copy(char *dst, const char *src, size_t len);
bool str_starts(const char *s, const char *prefix);
/* The value of a hex digit, -1 for anything else. */
int hex_digit(char c);
/* Is s (len bytes) valid UTF-8 without control characters (C0, DEL, C1)? */
bool str_is_text(const char *s, size_t len);
/*
 * Copy src for a message: printable text as it is, every other byte (control
 * characters, invalid UTF-8) as \xNN, so nothing from outside can move a
 * terminal's cursor or break a log line. Always terminated; -1 when cut.
 */
int str_escape(char *dst, size_t cap, const char *src);

struct buf {
	char *p;
	size_t len;
	size_t cap;
	int oom; /* set once an allocation failed; further appends do nothing */
};
void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminate (not counted in len) and return the string. */
const char *buf_str(struct buf *b);

#endif
