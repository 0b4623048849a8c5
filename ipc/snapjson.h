/*
 * The snapshot as JSON, for `leafmon snapshot --json` and /api/latest:
 * {"t": now, "generation": "...", "writer_pid": N, "signals": {NAME:
 *  {"v": value, "t": capture seconds, "stale": bool, "bus": "ev"}}}
 * Only published (verified) signals appear; enums as labels.
 */
#ifndef LEAFMON_SNAPJSON_H
#define LEAFMON_SNAPJSON_H

#include "snap.h"
#include "util.h"

/* names: NULL for all, else only these (unknown names are skipped).
 * Returns the number of signals written; busy slots are counted in *busy. */
int snap_to_json(const struct snap *s, const char *const *names, int nnames, struct buf *b,
		 int *busy);

#endif
