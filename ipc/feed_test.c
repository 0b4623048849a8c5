/*
 * A writer's feed against a real journal and NNG pub socket in a temporary
 * RUNDIR, driven by its own loop (no leafmond): it waits for a journal that
 * is not there yet and says so; it resumes where the writer says; live
 * samples and the journal's gap fill arrive in order; a long catch-up comes
 * in slices from the loop; the stop drain takes what is pending; losses and
 * a new generation are counted and shown.
 */
#include <stdlib.h>

#include "bus.h"
#include "feed.h"
#include "journal.h"
#include "t.h"
#include "testpub.h"
#include "util.h"

/* LeakSanitizer (the asan stage): libnng 1.5.2 sometimes loses a dialer's
 * objects when a subscription that is still connecting is closed (valgrind
 * sees it every run: this test has no valgrind twin). What nng allocates
 * is let off here, a message left unfreed too; feed.c's and sampsub.c's
 * own allocations are still checked. */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libnng.so\n";
}

#define NO_JOURNAL "no journal in the test's rundir"

struct bed {
	struct worker w;
	struct journal *j;
	nng_socket pub;
	struct feed f;
	uint64_t resume_gen, resume_seq;
	int resumes;
	uint64_t taken, expect, out_of_order;
	uint64_t slices;	  /* distinct now_real values seen by take */
	int64_t last_real;	  /* now_real of the last take */
	int64_t real_lo, real_hi; /* now_real of every take within */
};

static void
take(void *arg, const Sample *m, int64_t now_real, int64_t now_boot)
{
	struct bed *b = arg;
	if (m->seq != b->expect || m->values[0] != (double)m->seq)
		b->out_of_order++;
	b->expect = m->seq + 1;
	b->taken++;
	if (now_real != b->last_real)
		b->slices++;
	b->last_real = now_real;
	if (b->real_lo == 0 || now_real < b->real_lo)
		b->real_lo = now_real;
	if (now_real > b->real_hi)
		b->real_hi = now_real;
	if (now_boot <= 0)
		b->out_of_order++;
}

static void
resume(void *arg, uint64_t *gen, uint64_t *seq)
{
	struct bed *b = arg;
	*gen = b->resume_gen;
	*seq = b->resume_seq;
	b->resumes++;
}

static void
bed_init(struct bed *b)
{
	memset(b, 0, sizeof(*b));
	b->w.name = "feedtest";
	b->w.loop = loop_new();
	CHECK(b->w.loop != NULL);
	snprintf(b->w.rundir, sizeof(b->w.rundir), "%s", t_tmpdir());
	b->expect = 1;
}

static void
bed_journal(struct bed *b, size_t bytes)
{
	bool re;
	CHECK_INT(journal_create(b->w.rundir, bytes, &re, NULL), ==, 0);
	CHECK_INT(journal_open(&b->j, b->w.rundir, true), ==, 0);
	CHECK_INT(bus_pub_listen(&b->pub, b->w.rundir, BUS_SAMPLES), ==, 0);
}

static void
bed_free(struct bed *b)
{
	feed_close(&b->f);
	if (b->j != NULL) {
		bus_close(b->pub);
		journal_close(b->j);
	}
	loop_free(b->w.loop);
}

static void
publish(struct bed *b, uint64_t from, uint64_t to, bool on_bus)
{
	for (uint64_t seq = from; seq <= to; seq++)
		testpub_sample(b->j, b->pub, seq, on_bus);
}

/* The worker's loop until `want` were taken or `ms` passed; with_tick: the
 * 1 s tick, sped up to 200 ms. */
static void
run_until(struct bed *b, uint64_t want, bool with_tick, int64_t ms)
{
	int64_t deadline = now_mono_ns() + ms * NSEC_PER_MSEC;
	int64_t tick_at = now_mono_ns() + 200 * NSEC_PER_MSEC;
	while (b->taken < want && now_mono_ns() < deadline) {
		loop_once(b->w.loop, 20 * NSEC_PER_MSEC);
		if (with_tick && now_mono_ns() > tick_at) {
			feed_tick(&b->f);
			tick_at = now_mono_ns() + 200 * NSEC_PER_MSEC;
		}
	}
}

static double
counter(const struct heartbeat *hb, const char *name)
{
	for (int i = 0; i < hb->ncounters; i++)
		if (strcmp(hb->counters[i].name, name) == 0)
			return hb->counters[i].value;
	t_fail(__FILE__, __LINE__, "no counter %s in the heartbeat", name);
	return -1;
}

static const struct worker_alert *
alert(const struct heartbeat *hb, const char *code)
{
	for (int i = 0; i < hb->nalerts; i++)
		if (strcmp(hb->alerts[i].code, code) == 0)
			return &hb->alerts[i];
	return NULL;
}

static void
test_feed_waits_for_the_journal(void)
{
	static struct bed b;
	static struct heartbeat hb;
	bed_init(&b);
	CHECK_INT(feed_start(&b.f, &b.w, take, resume, &b, NO_JOURNAL), ==, 0);
	CHECK(b.f.ss == NULL);
	feed_tick(&b.f);
	feed_tick(&b.f);
	CHECK_INT(b.f.sub_failures, ==, 3);
	CHECK_INT(b.resumes, ==, 3);
	memset(&hb, 0, sizeof(hb));
	feed_counters(&b.f, &hb);
	CHECK_INT(hb.ncounters, ==, 0);
	CHECK_INT(hb.nalerts, ==, 1);
	CHECK(alert(&hb, "no_journal") != NULL);
	CHECK_STR(alert(&hb, "no_journal")->text, NO_JOURNAL);

	/* leafmond makes the journal: the next tick subscribes and takes what
	 * it holds (gen 0: from the oldest) */
	bed_journal(&b, 1 << 20);
	publish(&b, 1, 3, false);
	int64_t before = now_real_ns();
	feed_tick(&b.f);
	CHECK(b.f.ss != NULL);
	CHECK_INT(b.taken, ==, 3);
	CHECK_INT(b.out_of_order, ==, 0);
	CHECK_INT(b.real_lo, >=, before);
	CHECK_INT(b.real_hi, <=, now_real_ns());
	memset(&hb, 0, sizeof(hb));
	feed_counters(&b.f, &hb);
	CHECK_INT(hb.nalerts, ==, 0);
	CHECK_DBL(counter(&hb, "sub_from_journal"), 3, 0);
	CHECK_DBL(counter(&hb, "sub_lost"), 0, 0);
	CHECK_DBL(counter(&hb, "sub_duplicates"), 0, 0);
	CHECK_DBL(counter(&hb, "sub_generation_changes"), 0, 0);
	bed_free(&b);
}

static void
test_feed_takes_live_samples_and_fills_gaps(void)
{
	static struct bed b;
	static struct heartbeat hb;
	bed_init(&b);
	bed_journal(&b, 1 << 20);
	b.resume_gen = journal_generation(b.j);
	CHECK_INT(feed_start(&b.f, &b.w, take, resume, &b, NO_JOURNAL), ==, 0);
	CHECK(b.f.ss != NULL);
	/* the first may go out before the dialer is connected: the tick reads
	 * it from the journal */
	publish(&b, 1, 1, true);
	run_until(&b, 1, true, 5000);
	CHECK_INT(b.taken, ==, 1);
	int64_t idle_since = b.f.last_sample;
	/* live from here, but 40..49 never reach the bus: the loop alone
	 * (no tick) fills them from the journal when 50 arrives */
	publish(&b, 2, 39, true);
	publish(&b, 40, 49, false);
	publish(&b, 50, 100, true);
	run_until(&b, 100, false, 5000);
	CHECK_INT(b.taken, ==, 100);
	CHECK_INT(b.out_of_order, ==, 0);
	CHECK_INT(b.f.last_sample, >, idle_since);
	memset(&hb, 0, sizeof(hb));
	feed_counters(&b.f, &hb);
	CHECK_DBL(counter(&hb, "sub_from_journal"), 10, 1); /* and perhaps seq 1 */
	CHECK_DBL(counter(&hb, "sub_lost"), 0, 0);
	CHECK_INT(hb.nalerts, ==, 0);
	/* a tick with nothing new takes nothing twice */
	feed_tick(&b.f);
	run_until(&b, 101, false, 300);
	CHECK_INT(b.taken, ==, 100);
	bed_free(&b);
}

static void
test_feed_resumes_and_catches_up_in_slices(void)
{
	static struct bed b;
	bed_init(&b);
	bed_journal(&b, 8 << 20);
	publish(&b, 1, 10000, false);
	CHECK_INT(journal_oldest_seq(b.j), ==, 1);
	b.resume_gen = journal_generation(b.j);
	b.resume_seq = 1000;
	b.expect = 1001;
	CHECK_INT(feed_start(&b.f, &b.w, take, resume, &b, NO_JOURNAL), ==, 0);
	/* one slice at the start, never the whole catch-up */
	CHECK_INT(b.taken, >, 0);
	CHECK_INT(b.taken, <, 9000);
	CHECK(loop_timer_armed(b.f.catchup));
	/* the loop takes the rest, slice by slice, without a tick */
	run_until(&b, 9000, false, 5000);
	CHECK_INT(b.taken, ==, 9000);
	CHECK_INT(b.out_of_order, ==, 0);
	CHECK_INT(b.slices, >=, 3);
	CHECK(!loop_timer_armed(b.f.catchup));
	CHECK_INT(b.resumes, ==, 1);
	bed_free(&b);
}

static void
test_feed_drain_at_stop(void)
{
	static struct bed b;
	bed_init(&b);
	bed_journal(&b, 8 << 20);
	publish(&b, 1, 20000, false);
	CHECK_INT(journal_oldest_seq(b.j), ==, 1);
	CHECK_INT(feed_start(&b.f, &b.w, take, resume, &b, NO_JOURNAL), ==, 0);
	uint64_t first = b.taken;
	CHECK_INT(first, <, 20000);
	/* a deadline already past: one slice still */
	feed_drain_until(&b.f, now_mono_ns() - 1);
	CHECK_INT(b.taken, >, first);
	CHECK_INT(b.taken, <, first * 3);
	/* time enough: everything, without the loop */
	feed_drain_until(&b.f, now_mono_ns() + 5 * NSEC_PER_SEC);
	CHECK_INT(b.taken, ==, 20000);
	CHECK_INT(b.out_of_order, ==, 0);
	bed_free(&b);

	/* no journal: nothing to drain, and no crash */
	bed_init(&b);
	CHECK_INT(feed_start(&b.f, &b.w, take, resume, &b, NO_JOURNAL), ==, 0);
	feed_drain_until(&b.f, now_mono_ns() + NSEC_PER_SEC);
	CHECK_INT(b.taken, ==, 0);
	bed_free(&b);
}

static void
test_feed_counts_and_shows_losses(void)
{
	static struct bed b;
	static struct heartbeat hb;
	bed_init(&b);
	bed_journal(&b, 64 * 1024); /* the minimum: 5000 samples wrap it */
	publish(&b, 1, 5000, false);
	uint64_t oldest = journal_oldest_seq(b.j);
	CHECK_INT(oldest, >, 11);
	b.resume_gen = journal_generation(b.j);
	b.resume_seq = 10;
	b.expect = oldest;
	int64_t before = now_real_ns() / NSEC_PER_SEC;
	CHECK_INT(feed_start(&b.f, &b.w, take, resume, &b, NO_JOURNAL), ==, 0);
	feed_drain_until(&b.f, now_mono_ns() + 5 * NSEC_PER_SEC);
	CHECK_INT(b.taken, ==, 5001 - oldest);
	CHECK_INT(b.out_of_order, ==, 0);
	memset(&hb, 0, sizeof(hb));
	feed_counters(&b.f, &hb);
	CHECK_DBL(counter(&hb, "sub_lost"), (double)(oldest - 11), 0);
	const struct worker_alert *a = alert(&hb, "samples_lost");
	CHECK(a != NULL);
	char want[64];
	snprintf(want, sizeof(want), "%llu samples were", (unsigned long long)(oldest - 11));
	CHECK(strstr(a->text, want) == a->text);
	CHECK_INT(a->since, >=, before);
	CHECK_INT(a->since, <=, now_real_ns() / NSEC_PER_SEC);
	/* the alert stays (the same since) while nothing more is lost */
	int64_t since = a->since;
	memset(&hb, 0, sizeof(hb));
	feed_counters(&b.f, &hb);
	CHECK(alert(&hb, "samples_lost") != NULL);
	CHECK_INT(alert(&hb, "samples_lost")->since, ==, since);
	feed_close(&b.f);

	/* a checkpoint from another journal: counted as a generation change,
	 * then everything this one holds; nothing lost, no alert */
	b.resume_gen = journal_generation(b.j) ^ 1;
	b.taken = 0;
	b.expect = oldest;
	CHECK_INT(feed_start(&b.f, &b.w, take, resume, &b, NO_JOURNAL), ==, 0);
	feed_drain_until(&b.f, now_mono_ns() + 5 * NSEC_PER_SEC);
	CHECK_INT(b.taken, ==, 5001 - oldest);
	memset(&hb, 0, sizeof(hb));
	feed_counters(&b.f, &hb);
	CHECK_DBL(counter(&hb, "sub_generation_changes"), 1, 0);
	CHECK_DBL(counter(&hb, "sub_lost"), 0, 0);
	CHECK(alert(&hb, "samples_lost") == NULL);
	bed_free(&b);
}

T_MAIN(T(test_feed_waits_for_the_journal), T(test_feed_takes_live_samples_and_fills_gaps),
       T(test_feed_resumes_and_catches_up_in_slices), T(test_feed_drain_at_stop),
       T(test_feed_counts_and_shows_losses))
