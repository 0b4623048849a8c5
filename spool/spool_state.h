/*
 * DIR/state of a spool as text: acknowledged id ranges, the persistent
 * ledger and the clock anchors, ending with a CRC line. Pure: the spool
 * writes the text with file_write_atomic().
 */
#ifndef LEAFMON_SPOOL_STATE_H
#define LEAFMON_SPOOL_STATE_H

#include "ackset.h"
#include "spool.h"
#include "util.h"

#define SPOOL_STATE_VERSION 1

struct spool_state {
	struct ackset acked;
	struct spool_ledger ledger;
	struct spool_anchor anchors[SPOOL_ANCHORS_MAX];
	size_t nanchors;
};

void spool_state_encode(const struct spool_state *s, struct buf *out);
/* 0; -1 with a reason in why (bad CRC, newer version, malformed line). */
int spool_state_decode(const char *text, struct spool_state *s, char *why, size_t whylen);
/* Add or replace an anchor (by boot id); the oldest goes when full. */
void spool_state_anchor(struct spool_state *s, const struct spool_anchor *a);

#endif
