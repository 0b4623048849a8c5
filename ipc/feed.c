/* A writer's feed of samples (see feed.h). */
#include "feed.h"

#include <stdio.h>

#include "log.h"
#include "util.h"

#define TAKE_PER_SLICE 4096
#define CATCHUP_NS (2 * NSEC_PER_MSEC)
#define LOST_ALERT_S 600 /* how long samples_lost shows after the last loss */

static void
drain(struct feed *f)
{
	Sample *m;
	int64_t now_real = now_real_ns(), now_boot = now_boot_ns();
	int k = 0;
	for (; k < TAKE_PER_SLICE && (m = sampsub_next(f->ss)) != NULL; k++) {
		f->take(f->arg, m, now_real, now_boot);
		sampsub_free(m);
	}
	if (k > 0)
		f->last_sample = now_mono_ns();
	if (sampsub_pending(f->ss) && !loop_timer_armed(f->catchup))
		loop_timer_after(f->catchup, CATCHUP_NS);
}

static void
on_samples(struct loop *l, int fd, uint32_t ev, void *arg)
{
	drain(arg);
}

static void
on_catchup(struct loop *l, struct loop_timer *t, void *arg)
{
	struct feed *f = arg;
	if (f->ss != NULL)
		drain(f);
}

static void
subscribe(struct feed *f)
{
	uint64_t gen = 0, seq = 0;
	f->resume(f->arg, &gen, &seq);
	if (sampsub_open(&f->ss, f->w->rundir, gen, seq) < 0) {
		if (f->sub_failures++ == 0)
			log_warnx("no sample journal in %s yet (is leafmond running?): retrying",
				  f->w->rundir);
		f->ss = NULL;
		return;
	}
	if (loop_add_fd(f->w->loop, sampsub_fd(f->ss), EPOLLIN, on_samples, f) < 0)
		fatal("samples fd");
	log_info("subscribed from generation %016llx seq %llu", (unsigned long long)gen,
		 (unsigned long long)seq);
	drain(f);
}

int
feed_start(struct feed *f, struct worker *w, feed_take_fn *take, feed_resume_fn *resume, void *arg,
	   const char *no_journal)
{
	*f = (struct feed){.w = w,
			   .take = take,
			   .resume = resume,
			   .arg = arg,
			   .no_journal = no_journal,
			   .last_sample = now_mono_ns()};
	f->catchup = loop_timer_new(w->loop, on_catchup, f);
	if (f->catchup == NULL)
		return -1;
	subscribe(f);
	return 0;
}

void
feed_tick(struct feed *f)
{
	if (f->ss == NULL)
		subscribe(f);
	if (f->ss != NULL) {
		sampsub_poll_journal(f->ss);
		drain(f);
	}
}

void
feed_drain_until(struct feed *f, int64_t deadline)
{
	if (f->ss == NULL)
		return;
	do
		drain(f);
	while (sampsub_pending(f->ss) && now_mono_ns() < deadline);
}

void
feed_counters(struct feed *f, struct heartbeat *hb)
{
	if (f->ss == NULL) {
		hb_alert(hb, "no_journal", f->no_journal, 0);
		return;
	}
	const struct sampsub_stats *s = sampsub_stats(f->ss);
	hb_counter(hb, "sub_lost", (double)s->lost);
	hb_counter(hb, "sub_duplicates", (double)s->duplicates);
	hb_counter(hb, "sub_from_journal", (double)s->from_journal);
	hb_counter(hb, "sub_generation_changes", (double)s->generation_changes);
	int64_t now = now_real_ns() / NSEC_PER_SEC;
	if (s->lost > f->lost_seen) {
		f->lost_seen = s->lost;
		f->lost_alert_since = now;
	}
	if (f->lost_alert_since != 0 && now - f->lost_alert_since < LOST_ALERT_S) {
		char text[160];
		snprintf(
		    text, sizeof(text),
		    "%llu samples were overwritten in the journal before they could be spooled",
		    (unsigned long long)s->lost);
		hb_alert(hb, "samples_lost", text, f->lost_alert_since);
	}
}

void
feed_close(struct feed *f)
{
	if (f->ss != NULL) {
		loop_del_fd(f->w->loop, sampsub_fd(f->ss));
		sampsub_close(f->ss);
	}
	f->ss = NULL;
	loop_timer_free(f->catchup);
	f->catchup = NULL;
}
