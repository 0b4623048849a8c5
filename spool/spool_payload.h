/*
 * The payload of a data record: one sample's values as (signal id, kind,
 * double) triples, so line protocol (and its precision) is produced at send
 * time from the signal table. Kind lets a writer spool aggregates
 * (<field>_min, <field>_max). Pure: no I/O.
 *
 * Layout: u8 format (1), u8 flags (0), u16 count, then count times
 * { u16 key = id | kind << 12, u64 IEEE-754 bits }, little-endian.
 */
#ifndef LEAFMON_SPOOL_PAYLOAD_H
#define LEAFMON_SPOOL_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SPOOL_PAYLOAD_FORMAT 1
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

#endif
