/*
 * Session events into the spool (see sessrec.h). An event is captured at
 * its own frame time: the sample's boot time moves with it, so re-basing an
 * unsynced record (DESIGN.md "Time") moves the event and its start alike.
 */
#include "sessrec.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "spool_payload.h"

static struct log_rl rl_sess = LOG_RL_INIT(5, 60);

/* The older record of e's session is not needed any more; e's rid is the newest. */
static void
supersede(struct spool *sp, const Event *e, uint64_t rid, struct sessrec_counts *n)
{
	int slot = -1;
	for (int i = 0; i < SESSREC_OPEN; i++)
		if (n->open[i].kind[0] != '\0' && strcmp(n->open[i].kind, e->kind) == 0 &&
		    n->open[i].start_ns == e->start_ns)
			slot = i;
	if (slot >= 0) {
		spool_ack(sp, n->open[slot].rid, n->open[slot].rid + 1, false);
		n->superseded++;
	} else {
		slot = (int)(n->next++ % SESSREC_OPEN);
	}
	if (strlen(e->kind) >= sizeof(n->open[slot].kind) || spool_event_phase(e->phase) == 2) {
		n->open[slot].kind[0] = '\0'; /* ended: no newer event will come */
		return;
	}
	snprintf(n->open[slot].kind, sizeof(n->open[slot].kind), "%s", e->kind);
	n->open[slot].start_ns = e->start_ns;
	n->open[slot].rid = rid;
}

static int
one(struct spool *sp, const Event *e, const struct spool_meta *meta, struct buf *scratch,
    struct sessrec_counts *n)
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
	if (spool_append(sp, &em, scratch->p, scratch->len, &rid) < 0)
		return -1;
	supersede(sp, e, rid, n);
	return 0;
}

int
sessrec_spool(struct spool *sp, const Sample *m, const struct spool_meta *meta,
	      struct buf *scratch, struct sessrec_counts *n)
{
	int k = 0;

	for (size_t i = 0; i < m->n_events; i++) {
		n->taken++;
		if (m->events[i] == NULL || one(sp, m->events[i], meta, scratch, n) < 0) {
			n->failed++;
			continue;
		}
		n->spooled++;
		k++;
	}
	return k;
}
