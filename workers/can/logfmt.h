/*
 * Parsers for the CAN log formats found in the wild (pure: a line in, a
 * frame out). Formats: candump -l ("(ts) can0 ID#DATA", optional trailing
 * R/T, extended ids, ID#R, CAN FD ID##F...), candump text without (or with)
 * timestamps, SavvyCAN/GVRET CSV, OVMS CRTD (two buses, info lines), the
 * tab-separated "ParserFlags Ch Counter ..." export, the space-separated
 * "SSSS.ffffff IIIIIIII DLC b0 .." export, the old system's TSV, and the PC
 * tools' formats (logfmt_tools.c): Vector ASC, PEAK TRC 1.x/2.x, the USB-CAN
 * analyser's TXT export and the ESP32 loggers' microsecond lines.
 *
 * Time: logs with absolute times keep them; relative logs start at start_ns;
 * a frame without a timestamp of its own comes out with p->untimed set and
 * gets its time from the bus's clock (logclock.h) in the reader.
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
	LF_ASC,		/* "asc"      Vector ASC: 0.012345 1 1DB Rx d 8 b0 .. */
	LF_TRC,	   /* "trc"      PEAK TRC 1.x "1) 1059.9 Rx 0300 8 ..", 2.x "1 1059.900 DT .." */
	LF_USBCAN, /* "usbcan"   NO Direction Time Scale ... (NUL-padded columns) */
	LF_MICROS, /* "micros"   00019402641 00000284 08 b0 .. (ESP32, us) */
	LF_COUNT
};

/* Per-format state of the PC tools' formats (logfmt_tools.c). */
struct logparse_tool {
	bool have_base;	    /* base_ns holds the log's absolute start */
	int64_t base_ns;    /* ASC date / Begin Triggerblock, TRC $STARTTIME */
	bool asc_dec;	    /* ASC "base dec": ids and data in decimal */
	bool asc_delta;	    /* ASC "timestamps relative": each one since the previous */
	int64_t asc_sum;    /* ... their running sum */
	int trc_ver;	    /* 10, 11, 20, 21 (0: not said: 1.0, or 2.0 for 2.x lines) */
	int8_t trc_col[10]; /* 2.x: column index of N O T B I d R L l D, -1 absent */
	int64_t day_ms;	    /* USB-CAN wall clock: the previous time of day */
	int64_t days;	    /* ... and the midnights passed */
};

struct logparse {
	int fmt;	  /* enum logfmt; LF_AUTO until the first frame line */
	int bus;	  /* bus for single-bus formats (enum can_bus) */
	int64_t start_ns; /* where relative and untimed logs start */
	bool have_t0;
	int64_t t0;	  /* first raw time of a relative log */
	int64_t anchor_ns;
	int32_t utc_off_s; /* local time minus UTC, for the dates of ASC and TRC */
	bool untimed;	   /* the last frame had no timestamp (see logclock.h) */
	int timed;	   /* 1: the log's frames have times, 0: they do not, -1 not known */
	struct logparse_tool tool;
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
const char *logfmt_name(int fmt);
int logfmt_by_name(const char *name); /* -1 unknown; "auto" is LF_AUTO */
/* The formats in words, for messages: "candump -l, candump text, ...". */
const char *logfmt_known(void);
/* The --format names: "auto candump text ...". */
const char *logfmt_names(void);

/* Write f as a candump -l line ("(s.us) iface ID#DATA\n"); returns length. */
int logfmt_candump(char *buf, size_t len, const struct can_rec *f, const char *iface);

#endif
