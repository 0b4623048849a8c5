/*
 * Line reader over the log parsers (see logread.h).
 */
#include "logread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int
logread_open(struct logread *r, const char *path, int fmt, int bus, int64_t start_ns)
{
	memset(r, 0, sizeof(*r));
	if (strcmp(path, "-") == 0) {
		r->fp = stdin;
		str_copy(r->name, "<stdin>", sizeof(r->name));
	} else {
		r->fp = fopen(path, "re");
		if (r->fp == NULL)
			return -1;
		r->own = true;
		str_copy(r->name, path, sizeof(r->name));
	}
	r->fmt = fmt;
	r->bus = bus;
	r->start_ns = start_ns;
	logparse_init(&r->lp, fmt, bus, start_ns);
	return 0;
}

int
logread_next(struct logread *r, struct can_rec *f)
{
	char why[200];
	ssize_t n;

	for (;;) {
		n = getline(&r->line, &r->cap, r->fp);
		if (n < 0)
			return 0;
		int k = logparse_line(&r->lp, r->line, (size_t)n, f, why, sizeof(why));
		if (k > 0)
			return 1;
		if (k < 0) {
			snprintf(r->err, sizeof(r->err), "%.255s:%lu: %.200s", r->name, r->lp.line, why);
			return -1;
		}
	}
}

int
logread_rewind(struct logread *r)
{
	struct logparse keep = r->lp;

	if (!r->own || fseek(r->fp, 0, SEEK_SET) < 0)
		return -1;
	logparse_init(&r->lp, keep.fmt, r->bus, r->start_ns);
	r->lp.frames = keep.frames;
	r->lp.errors = keep.errors;
	r->lp.skipped = keep.skipped;
	return 0;
}

void
logread_close(struct logread *r)
{
	if (r->own && r->fp != NULL)
		fclose(r->fp);
	free(r->line);
	r->fp = NULL;
	r->line = NULL;
}
