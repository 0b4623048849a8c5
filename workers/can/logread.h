/*
 * Reading a CAN log file line by line through the logfmt parsers, with
 * "file:line: reason" errors. Used by `leafmon decode`, the replay source
 * and the tests. A bad line is reported and skipped; reading goes on.
 * Lines are at most LOGREAD_LINE_MAX bytes: a longer one (a binary file,
 * /dev/zero) is skipped as one error, so memory stays bounded whatever the
 * input. NUL bytes are data, not line ends. Frames of an untimed log get
 * their times from the bus's clock (logclock.h), the same way for a file
 * and for stdin.
 */
#ifndef LEAFMON_LOGREAD_H
#define LEAFMON_LOGREAD_H

#include <stdio.h>

#include "logclock.h"
#include "logfmt.h"

#define LOGREAD_LINE_MAX 4096

struct logread {
	int fd;
	bool own, eof, skipping;
	char *buf; /* LOGREAD_BUF bytes; [off, len) not read yet */
	size_t off, len;
	const char *map; /* logread_map: the whole file, [off, map_len) not read yet */
	size_t map_len;
	struct logparse lp;
	struct logclock clk;
	bool clocked;	     /* frames went through clk (an untimed log) */
	uint64_t frames_out; /* frames handed out since the open or the rewind */
	uint64_t long_lines; /* lines over LOGREAD_LINE_MAX, skipped */
	char name[256];
	char err[600];
	int fmt, bus;
	int64_t start_ns;
};

/* path "-" reads stdin. fmt LF_AUTO detects. 0 or -1 (errno). */
int logread_open(struct logread *r, const char *path, int fmt, int bus, int64_t start_ns);
/*
 * Read a regular file through one read-only mapping of all of it instead
 * of read(2) into the buffer (`leafmon decode`: no copy, no refill); the
 * same lines, caps and errors. The file must not shrink meanwhile (SIGBUS),
 * so the live replay keeps read(2). 0, or -1 (a pipe, an empty file): the
 * read(2) path stays.
 */
int logread_map(struct logread *r);
/* 1: a frame; 0: end of file; -1: a bad line (r->err says where and why). */
int logread_next(struct logread *r, struct can_rec *f);
/* Start again from the top (replay loop); -1 for a pipe. */
int logread_rewind(struct logread *r);
void logread_close(struct logread *r);
/* After the end: why no frame came out ("... is empty", "no line of ...
 * is a CAN frame in a format leafmon reads: ..."); 0, or -1 when frames did. */
int logread_why_none(const struct logread *r, char *buf, size_t len);
/* "times estimated from the bus clock: 0x1DB every 10 ms, ..." or "" */
void logread_time_note(const struct logread *r, char *buf, size_t len);

#endif
