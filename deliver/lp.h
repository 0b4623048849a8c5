/*
 * Line protocol from spooled samples (DESIGN.md "Storage and delivery"): one
 * point per signal group per sample; measurement = the group, tag vehicle,
 * fields = the group's published signals in the sample, typed by the signal
 * table (sig_format_lp), timestamp = the sample's time at the configured
 * precision. Pure (no I/O) but for lp_vehicle, whose default asks
 * gethostname.
 */
#ifndef LEAFMON_LP_H
#define LEAFMON_LP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define LP_MAX_LINES_PER_RECORD 16 /* >= SG_COUNT */

struct lp_ctx {
	char tags[400]; /* ",vehicle=<escaped>" */
	int precision;	/* PREC_* of config.h */
	int64_t div;	/* nanoseconds per unit */
};

struct lp_stats {
	uint64_t lines;
	uint64_t fields;
	uint64_t unknown;     /* ids not in the signal table: skipped */
	uint64_t unpublished; /* provisional signals: skipped */
	uint64_t nonfinite;   /* NaN, inf, enum index without a label: skipped */
	uint64_t malformed;   /* payloads that did not decode */
	/* session events (lp_event) */
	uint64_t events;	   /* points written */
	uint64_t events_malformed; /* dropped: the record or its detail did not parse */
	uint64_t event_fields_skipped; /* null, nested or a non-string charge_type */
};

/* Where a spool record goes: its payload format says (spool_payload.h). */
enum lp_dest { LP_DEST_SAMPLES, LP_DEST_SESSIONS, LP_DESTS };

/* vehicle: the tag value (configured, else the host name, else "unknown"). */
void lp_init(struct lp_ctx *c, const char *vehicle, int precision);
/* The vehicle tag DESIGN.md asks for: cfg value, else the host name. */
const char *lp_vehicle(const char *configured, char *buf, size_t len);
/*
 * Append the record's lines to out. Returns how many (0 when none of its
 * values is publishable), or -1 when the payload is malformed. ends (room
 * for LP_MAX_LINES_PER_RECORD, may be NULL) receives each line's end offset
 * in out, after its '\n'. unsynced adds the field clock_unsynced=true.
 */
int lp_record(const struct lp_ctx *c, struct buf *out, int64_t t_ns, bool unsynced,
	      const uint8_t *payload, size_t len, size_t *ends, struct lp_stats *st);
/* The destination of a payload: sessions for an event, else samples. */
int lp_dest(const uint8_t *payload, size_t len);
/*
 * A session event record (payload format 2) as one point (DESIGN.md
 * "Session measurements"): measurement = the kind, tags vehicle and (a
 * charge) charge_type, fields = the detail's members (numbers as floats,
 * booleans, strings) and phase, timestamp = the session's start (t_ns, the
 * record's resolved time, plus the stored offset). Returns 1 (ends[0] is
 * the line's end), or -1 when the record or its detail is malformed: then
 * nothing is appended, st counts it, and why (may be NULL) says what.
 */
int lp_event(const struct lp_ctx *c, struct buf *out, int64_t t_ns, bool unsynced,
	     const uint8_t *payload, size_t len, size_t *ends, struct lp_stats *st, char *why,
	     size_t why_len);
/* The timestamp in the precision's units (floor, so negative times work). */
int64_t lp_timestamp(const struct lp_ctx *c, int64_t t_ns);
/* A float value exactly as sig_format_lp formats it, when that can be done
 * without printf (the common case); its length, or -1. out: 32 bytes. */
int lp_fast_float(double v, char *out);
/* Escape a tag key or value (commas, equals signs, spaces; control
 * characters and backslashes become '_'). Returns the length, -1 if it
 * did not fit. */
int lp_escape_tag(char *dst, size_t cap, const char *src);

#endif
