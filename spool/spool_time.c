/*
 * Send-time timestamps (DESIGN.md "Time"). A record captured with a
 * synchronised clock keeps its time. One captured before the sync is
 * re-based on its boot's anchor (realtime = boottime + offset at the sync)
 * when the anchor was taken within hold_ns of the capture; while that can
 * still happen (same boot, no anchor yet, younger than hold_ns) it is held;
 * otherwise it goes as captured, flagged clock_unsynced. The rule depends
 * only on durable facts, so a resend after a crash carries the same time.
 */
#include <string.h>

#include "spool.h"

static const struct spool_anchor *
find_anchor(const struct spool_anchor *a, size_t n, const uint8_t *boot)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(a[i].boot_id, boot, 16) == 0)
			return &a[i];
	return NULL;
}

enum spool_time
spool_time_resolve(const struct spool_rec *r, const struct spool_anchor *anchors, size_t n,
		   const uint8_t cur_boot[16], int64_t now_boot_ns, int64_t hold_ns, int64_t *t_out)
{
	*t_out = r->m.t_ns;
	if (r->m.synced)
		return SPOOL_TIME_FINAL;
	const struct spool_anchor *a = find_anchor(anchors, n, r->boot_id);
	if (a != NULL) {
		if (a->boot_ns_at_sync - r->m.boot_ns < hold_ns) {
			*t_out = r->m.boot_ns + a->offset_ns;
			return SPOOL_TIME_REBASED;
		}
		return SPOOL_TIME_UNSYNCED;
	}
	if (hold_ns > 0 && memcmp(r->boot_id, cur_boot, 16) == 0 && now_boot_ns - r->m.boot_ns < hold_ns)
		return SPOOL_TIME_HOLD;
	return SPOOL_TIME_UNSYNCED;
}
