/*
 * Line reader over the log parsers (see logread.h): read(2) into a fixed
 * buffer, lines split with memchr, nothing grows with the input.
 */
#include "logread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define LOGREAD_BUF (64 * 1024)

/* local time minus UTC here and now: the zone of ASC and TRC dates */
static int32_t
local_offset(void)
{
	time_t now = time(NULL);
	struct tm tm;

	return localtime_r(&now, &tm) != NULL ? (int32_t)tm.tm_gmtoff : 0;
}

static void
parse_init(struct logread *r)
{
	logparse_init(&r->lp, r->fmt, r->bus, r->start_ns);
	r->lp.utc_off_s = local_offset();
	logclock_init(&r->clk, r->start_ns);
	r->clocked = false;
	r->frames_out = 0;
}

int
logread_open(struct logread *r, const char *path, int fmt, int bus, int64_t start_ns)
{
	memset(r, 0, sizeof(*r));
	if ((r->buf = malloc(LOGREAD_BUF)) == NULL)
		return -1;
	if (strcmp(path, "-") == 0) {
		r->fd = STDIN_FILENO;
		str_copy(r->name, "<stdin>", sizeof(r->name));
	} else {
		if ((r->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			int e = errno;
			free(r->buf);
			r->buf = NULL;
			errno = e;
			return -1;
		}
		r->own = true;
		str_copy(r->name, path, sizeof(r->name));
	}
	r->fmt = fmt;
	r->bus = bus;
	r->start_ns = start_ns;
	parse_init(r);
	return 0;
}

int
logread_map(struct logread *r)
{
	struct stat st;
	void *m;

	if (!r->own || r->map != NULL || r->len > 0 || fstat(r->fd, &st) < 0 ||
	    !S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX)
		return -1;
	if ((m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, r->fd, 0)) == MAP_FAILED)
		return -1;
	(void)madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
	r->map = m;
	r->map_len = (size_t)st.st_size;
	r->off = 0;
	return 0;
}

/* More bytes into the buffer; false at the end of the file (or an error). */
static bool
fill(struct logread *r)
{
	ssize_t n;

	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	do
		n = read(r->fd, r->buf + r->len, LOGREAD_BUF - r->len);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		r->eof = true;
		return false;
	}
	r->len += (size_t)n;
	return true;
}

static int
too_long(struct logread *r)
{
	r->lp.line++;
	r->lp.errors++;
	r->long_lines++;
	snprintf(r->err, sizeof(r->err), "%.255s:%lu: a line longer than %d bytes (skipped)",
		 r->name, r->lp.line, LOGREAD_LINE_MAX);
	return -1;
}

/* next_line over the mapping: the whole line is there, long or not */
static int
map_line(struct logread *r, const char **line, size_t *len)
{
	const char *p = r->map + r->off, *nl;
	size_t have = r->map_len - r->off, n;

	if (have == 0)
		return 0;
	nl = memchr(p, '\n', have);
	n = nl != NULL ? (size_t)(nl - p) : have; /* the last line may have no newline */
	r->off += nl != NULL ? n + 1 : n;
	if (n > LOGREAD_LINE_MAX)
		return too_long(r);
	*line = p;
	*len = n;
	return 1;
}

/*
 * The next line in *line (without its newline): 1; 0 at the end; -1 for
 * a line over LOGREAD_LINE_MAX, which is then skipped up to its newline.
 */
static int
next_line(struct logread *r, const char **line, size_t *len)
{
	if (r->map != NULL)
		return map_line(r, line, len);
	for (;;) {
		const char *p = r->buf + r->off;
		size_t have = r->len - r->off;
		const char *nl = memchr(p, '\n', have);
		if (nl != NULL) {
			r->off += (size_t)(nl - p) + 1;
			if (r->skipping) { /* the end of a long line */
				r->skipping = false;
				continue;
			}
			if ((size_t)(nl - p) > LOGREAD_LINE_MAX)
				return too_long(r);
			*line = p;
			*len = (size_t)(nl - p);
			return 1;
		}
		if (have > LOGREAD_LINE_MAX && !r->skipping) {
			r->skipping = true;
			r->off = r->len;
			return too_long(r);
		}
		if (r->skipping)
			r->off = r->len;
		if (!r->eof && fill(r))
			continue;
		if (r->skipping || r->len == r->off)
			return 0;
		*line = r->buf + r->off; /* the last line has no newline */
		*len = r->len - r->off;
		r->off = r->len;
		return 1;
	}
}

/* 1 a frame (timed, or given to the clock when untimed: 2), 0 end, -1 bad */
static int
read_frame(struct logread *r, struct can_rec *f)
{
	char why[200];
	const char *line;
	size_t len;
	int k;

	for (;;) {
		if ((k = next_line(r, &line, &len)) <= 0)
			return k;
		k = logparse_line(&r->lp, line, len, f, why, sizeof(why));
		if (k > 0)
			return r->lp.untimed ? 2 : 1;
		if (k < 0) {
			snprintf(r->err, sizeof(r->err), "%.255s:%lu: %.200s", r->name, r->lp.line,
				 why);
			return -1;
		}
	}
}

int
logread_next(struct logread *r, struct can_rec *f)
{
	int k;

	for (;;) {
		/* a full clock always gives a frame, so the push below has room */
		if (r->clocked && logclock_pop(&r->clk, f) > 0)
			break;
		if ((k = read_frame(r, f)) < 0)
			return -1;
		if (k == 0) {
			logclock_end(&r->clk);
			if (r->clocked && logclock_pop(&r->clk, f) > 0)
				break;
			return 0;
		}
		if (k == 1)
			break;
		r->clocked = true;
		if (logclock_push(&r->clk, f) < 0) {
			snprintf(r->err, sizeof(r->err), "%.255s: out of memory", r->name);
			return -1;
		}
	}
	r->frames_out++;
	return 1;
}

int
logread_rewind(struct logread *r)
{
	struct logparse keep = r->lp;

	if (!r->own || lseek(r->fd, 0, SEEK_SET) < 0)
		return -1;
	r->off = r->len = 0;
	r->eof = r->skipping = false;
	r->fmt = keep.fmt;
	logclock_free(&r->clk);
	parse_init(r);
	r->lp.frames = keep.frames;
	r->lp.errors = keep.errors;
	r->lp.skipped = keep.skipped;
	return 0;
}

void
logread_close(struct logread *r)
{
	if (r->map != NULL)
		munmap((void *)r->map, r->map_len);
	r->map = NULL;
	if (r->own && r->fd >= 0)
		close(r->fd);
	logclock_free(&r->clk);
	free(r->buf);
	r->fd = -1;
	r->buf = NULL;
}

int
logread_why_none(const struct logread *r, char *buf, size_t len)
{
	if (r->lp.frames > 0)
		return -1;
	if (r->lp.line == 0)
		snprintf(buf, len, "%.255s is empty: no CAN frame to read", r->name);
	else
		snprintf(buf, len,
			 "no line of %.255s is a CAN frame in a format leafmon reads (%s)", r->name,
			 logfmt_known());
	return 0;
}

void
logread_time_note(const struct logread *r, char *buf, size_t len)
{
	char how[128];

	if (!r->clocked) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	logclock_describe(&r->clk, how, sizeof(how));
	snprintf(buf, len, "times estimated from the bus clock: %s", how);
}
