/*
 * The payload of a data record: one sample's values as (signal id, kind,
 * double) triples, so line protocol (and its precision) is produced at send
 * time from the signal table. Kind lets a writer spool aggregates
 * (<field>_min, <field>_max). Pure: no I/O.
 *
 * Layout: u8 format (1), u8 flags (0), u16 count, then count times
 * { u16 key = id | kind << 12, u64 IEEE-754 bits }, little-endian.
 *
 * A session event (DESIGN.md "Sessions") is a data record of its own, with
 * payload format 2, and that format byte is what routes it to the sessions'
 * destination (retention policy session_rp, bucket session_bucket): u8
 * format (2), u8 phase (0 start, 1 update, 2 end), u8 kind length, u8 0,
 * i64 start_ns - t_ns (the session's start relative to the record's
 * capture time, so re-basing an unsynced record moves both), u32 detail
 * length, the kind, the detail (its JSON object), little-endian.
 */
#ifndef LEAFMON_SPOOL_PAYLOAD_H
#define LEAFMON_SPOOL_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SPOOL_PAYLOAD_FORMAT 1
#define SPOOL_PAYLOAD_EVENT 2
#define SPOOL_EVENT_KIND_MAX 32
#define SPOOL_EVENT_DETAIL_MAX (1u << 20)
#define SPOOL_PAYLOAD_MAX_VALUES 4096

enum spool_kind { SPK_VALUE = 0, SPK_MIN = 1, SPK_MAX = 2 };

struct spool_value {
	uint16_t id; /* < 4096 */
	uint8_t kind;
	double v;
};

/* Append the encoded payload to out; 0, or -1 (bad id or kind, too many). */
int spool_payload_encode(struct buf *out, const struct spool_value *v, size_t n);
/* Decode into out (cap entries); the count, or -1 when malformed or cap is
 * too small. */
int spool_payload_decode(const uint8_t *p, size_t len, struct spool_value *out, size_t cap);

/* The payload's format (SPOOL_PAYLOAD_FORMAT, SPOOL_PAYLOAD_EVENT), or -1. */
int spool_payload_format(const uint8_t *p, size_t len);

struct spool_event {
	const char *kind; /* not NUL-terminated when decoded */
	size_t kind_len;
	int phase; /* 0 start, 1 update, 2 end */
	int64_t start_delta_ns;
	const char *detail;
	size_t detail_len;
};

/* 0, or -1 (kind empty or too long, detail too long, bad phase). */
int spool_event_encode(struct buf *out, const struct spool_event *e);
/* The phase's number from its name ("start", "update", "end"); an unknown
 * or missing name is an update (it overwrites like one). */
int spool_event_phase(const char *name);
/* Points into p. 0, or -1 when malformed. */
int spool_event_decode(const uint8_t *p, size_t len, struct spool_event *e);

#endif
