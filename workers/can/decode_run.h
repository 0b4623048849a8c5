/*
 * Offline decoding of a log file: parser -> decoder -> cutter (and the
 * session module), printing one JSON line per sample, the sessions and/or
 * a summary. `leafmon decode` and the golden tests use it; it is the live
 * worker's pipeline without the I/O.
 */
#ifndef LEAFMON_DECODE_RUN_H
#define LEAFMON_DECODE_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "session.h"

struct decode_opts {
	int fmt;	  /* enum logfmt, LF_AUTO */
	int bus;	  /* bus of single-bus logs */
	int64_t start_ns; /* start of relative and untimed logs */
	int gen;	  /* CFG_GEN_AUTO or a generation */
	int interval_ms;  /* publish_interval_ms */
	int keyframe_s;	  /* [can] keyframe_s, on the log's own time */
	bool samples;	  /* print the samples */
	bool summary;	  /* print the summary */
	bool json;	  /* summary as JSON */
	bool sessions;	  /* print the sessions (one line each, JSON with json) */
	struct sessions_cfg scfg;
	/* sessions: instead of printing, each session's end goes here (with
	 * its JSON object; leafmon import) */
	void (*session_fn)(void *arg, const struct session_event *e, const char *json);
	void *session_arg;
	int max_errors;	  /* parse errors printed before going quiet */
};

void decode_opts_init(struct decode_opts *o);
/* 0, or -1 when the file cannot be read or holds no CAN frame in a known
 * format (a message naming the formats on errf). */
int decode_file(const char *path, const struct decode_opts *o, FILE *out, FILE *errf);

#endif
