/*
 * Parsers for the CAN log formats found in the wild (pure: a line in, a
 * frame out). Formats: candump -l ("(ts) can0 ID#DATA", optional trailing
 * R/T, extended ids, ID#R, CAN FD ID##F...), candump text without (or with)
 * timestamps, SavvyCAN/GVRET CSV, OVMS CRTD (two buses, info lines), the
 * tab-separated "ParserFlags Ch Counter ..." export, the space-separated
 * "SSSS.ffffff IIIIIIII DLC b0 .." export, and the old system's TSV.
 *
 * Time: logs with absolute times keep them; relative logs start at start_ns;
 * logs without timestamps advance 10 ms per frame from start_ns.
 */
#ifndef LEAFMON_LOGFMT_H
#define LEAFMON_LOGFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canframe.h"

enum logfmt {
	LF_AUTO,
	LF_CANDUMP_LOG, /* "candump"  (ts) iface ID#DATA */
	LF_CANDUMP_TXT, /* "text"     iface ID [n] b0 .. */
	LF_GVRET,	/* "gvret"    Time Stamp,ID,Extended,Dir,Bus,LEN,D1.. */
	LF_CRTD,	/* "crtd"     ts 1R11 ID b0 .. */
	LF_TABEXP,	/* "tabexp"   ParserFlags Ch Counter T/R Time(ms) Flags ID Len Data */
	LF_SPACEEXP,	/* "spaceexp" SSSS.ffffff IIIIIIII DLC b0 .. */
	LF_TSV,		/* "tsv"      ts \t ID \t DLC \t b0 .. */
	LF_COUNT
};

#define LOGFMT_SYNTH_STEP_NS (10LL * 1000 * 1000)

struct logparse {
	int fmt;	  /* enum logfmt; LF_AUTO until the first frame line */
	int bus;	  /* bus for single-bus formats (enum can_bus) */
	int64_t start_ns; /* where relative and untimed logs start */
	bool have_t0;
	int64_t t0;	  /* first raw time of a relative log */
	int64_t anchor_ns;
	uint64_t nsynth;  /* frames given synthetic times */
	unsigned long line;
	uint64_t frames, skipped, errors;
};

void logparse_init(struct logparse *p, int fmt, int bus, int64_t start_ns);
/*
 * Parse one line (without or with its newline). 1: a frame in *out; 0: a
 * line without a frame (header, comment, info, blank); -1: unparseable, err
 * says why (the caller adds "file:line: "). Counts go into p.
 */
int logparse_line(struct logparse *p, const char *line, size_t len, struct can_rec *out,
		  char *err, size_t errlen);
/* Which format a line is, or LF_AUTO when it does not look like any. */
int logfmt_detect(const char *line, size_t len);
const char *logfmt_name(int fmt);
int logfmt_by_name(const char *name); /* -1 unknown; "auto" is LF_AUTO */

/* Write f as a candump -l line ("(s.us) iface ID#DATA\n"); returns length. */
int logfmt_candump(char *buf, size_t len, const struct can_rec *f, const char *iface);

#endif
