/*
 * Reading a CAN log file line by line through the logfmt parsers, with
 * "file:line: reason" errors. Used by `leafmon decode`, the replay source
 * and the tests. A bad line is reported and skipped; reading goes on.
 */
#ifndef LEAFMON_LOGREAD_H
#define LEAFMON_LOGREAD_H

#include <stdio.h>

#include "logfmt.h"

struct logread {
	FILE *fp;
	bool own;
	char *line;
	size_t cap;
	struct logparse lp;
	char name[256];
	char err[600];
	int fmt, bus;
	int64_t start_ns;
};

/* path "-" reads stdin. fmt LF_AUTO detects. 0 or -1 (errno). */
int logread_open(struct logread *r, const char *path, int fmt, int bus, int64_t start_ns);
/* 1: a frame; 0: end of file; -1: a bad line (r->err says where and why). */
int logread_next(struct logread *r, struct can_rec *f);
/* Start again from the top (replay loop); -1 for a pipe. */
int logread_rewind(struct logread *r);
void logread_close(struct logread *r);

#endif
