/*
 * Session events into the spool (see sessrec.h). An event is captured at
 * its own frame time: the sample's boot time moves with it, so re-basing an
 * unsynced record (DESIGN.md "Time") moves the event and its start alike.
 */
#include "sessrec.h"

#include <string.h>

#include "log.h"
#include "spool_payload.h"

static struct log_rl rl_sess = LOG_RL_INIT(5, 60);

static int
one(struct spool *sp, const Event *e, const struct spool_meta *meta, struct buf *scratch)
{
	struct spool_meta em = *meta;
	struct spool_event se = {
	    .kind = e->kind,
	    .kind_len = e->kind != NULL ? strlen(e->kind) : 0,
	    .phase = spool_event_phase(e->phase),
	    .start_delta_ns = e->start_ns - e->t_ns,
	    .detail = e->detail != NULL ? e->detail : "{}",
	};
	uint64_t rid;

	if (!e->has_start_ns) {
		log_rl(&rl_sess, LOG_WARNING, "a %s event without its session's start: not spooled",
		       se.kind_len ? e->kind : "(no kind)");
		return -1;
	}
	se.detail_len = strlen(se.detail);
	em.t_ns = e->t_ns;
	em.boot_ns = meta->boot_ns + (e->t_ns - meta->t_ns);
	buf_reset(scratch);
	if (spool_event_encode(scratch, &se) < 0) {
		log_rl(&rl_sess, LOG_WARNING, "a %s event of %zu bytes cannot be spooled: kind or "
		       "detail out of bounds", se.kind_len ? e->kind : "(no kind)", se.detail_len);
		return -1;
	}
	return spool_append(sp, &em, scratch->p, scratch->len, &rid);
}

int
sessrec_spool(struct spool *sp, const Sample *m, const struct spool_meta *meta,
	      struct buf *scratch, struct sessrec_counts *n)
{
	int k = 0;

	for (size_t i = 0; i < m->n_events; i++) {
		n->taken++;
		if (m->events[i] == NULL || one(sp, m->events[i], meta, scratch) < 0) {
			n->failed++;
			continue;
		}
		n->spooled++;
		k++;
	}
	return k;
}
