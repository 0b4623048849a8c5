/*
 * The gap-free subscriber against a real NNG pub socket and journal:
 * samples arrive in order; ones never sent on the bus come from the journal;
 * a restarted subscriber resumes at its checkpoint; overwritten samples and
 * a new journal generation are counted, never skipped silently.
 */
#include <poll.h>

#include "bus.h"
#include "journal.h"
#include "sampsub.h"
#include "t.h"
#include "testpub.h"
#include "util.h"

struct pubside {
	struct journal *j;
	nng_socket pub;
};

static void
publish(struct pubside *p, uint64_t seq, bool on_bus)
{
	testpub_sample(p->j, p->pub, seq, on_bus);
}

static uint64_t n_live; /* delivered with sampsub_live() */

/* collect until `want` samples or 5 s; check strict order from `first`, and
 * that a sample never sent on the bus (seq 50..60 below) is not called live */
static uint64_t
collect(struct sampsub *ss, uint64_t first, uint64_t want)
{
	uint64_t got = 0, expect = first;
	int64_t deadline = now_mono_ns() + 5 * NSEC_PER_SEC;
	int64_t poll_at = now_mono_ns() + 200 * NSEC_PER_MSEC;
	while (got < want && now_mono_ns() < deadline) {
		struct pollfd pfd = {.fd = sampsub_fd(ss), .events = POLLIN};
		poll(&pfd, 1, 20);
		if (now_mono_ns() > poll_at) { /* the worker's 1 s timer, sped up */
			sampsub_poll_journal(ss);
			poll_at = now_mono_ns() + 200 * NSEC_PER_MSEC;
		}
		Sample *m;
		while (got < want && (m = sampsub_next(ss)) != NULL) {
			CHECK_INT(m->seq, ==, expect);
			CHECK_DBL(m->values[0], (double)m->seq, 0);
			if (sampsub_live(ss)) {
				CHECK(m->seq < 50 || m->seq > 60);
				n_live++;
			}
			expect++;
			got++;
			sampsub_free(m);
		}
	}
	return got;
}

static void
setup(struct pubside *p, const char *dir, size_t bytes)
{
	bool re;
	CHECK_INT(journal_create(dir, bytes, &re, NULL), ==, 0);
	CHECK_INT(journal_open(&p->j, dir, true), ==, 0);
	CHECK_INT(bus_pub_listen(&p->pub, dir, BUS_SAMPLES), ==, 0);
}

static void
test_sampsub_fills_bus_gaps_from_journal(void)
{
	char *dir = t_tmpdir();
	struct pubside p;
	setup(&p, dir, 1 << 20);
	struct sampsub *ss;
	CHECK_INT(sampsub_open(&ss, dir, 0, 0), ==, 0);
	/* the first may be published before the dialer connects: the journal
	 * has it; from then on the bus carries them, but for 50..60 */
	publish(&p, 1, true);
	CHECK_INT(collect(ss, 1, 1), ==, 1);
	for (uint64_t s = 2; s <= 200; s++) {
		publish(&p, s, s < 50 || s > 60);
		if (s < 50 || s > 60)
			CHECK_INT(collect(ss, s > 60 && s == 61 ? 50 : s, s == 61 ? 12 : 1), ==,
				  s == 61 ? 12 : 1);
	}
	const struct sampsub_stats *st = sampsub_stats(ss);
	printf("     delivered %llu: bus %llu, journal %llu, duplicates %llu\n",
	       (unsigned long long)st->delivered, (unsigned long long)st->from_bus,
	       (unsigned long long)st->from_journal, (unsigned long long)st->duplicates);
	CHECK_INT(st->delivered, ==, 200);
	CHECK_INT(st->from_journal, >=, 11);
	CHECK_INT(st->from_bus, >=, 150);
	CHECK_INT(st->lost, ==, 0);
	CHECK_INT(n_live, ==, st->from_bus);
	uint64_t gen = sampsub_generation(ss);
	CHECK_INT(sampsub_last_seq(ss), ==, 200);
	sampsub_close(ss);

	/* the subscriber is down while 100 more are published; it resumes */
	for (uint64_t s = 201; s <= 300; s++)
		publish(&p, s, true);
	CHECK_INT(sampsub_open(&ss, dir, gen, 200), ==, 0);
	CHECK_INT(collect(ss, 201, 100), ==, 100);
	CHECK_INT(sampsub_stats(ss)->lost, ==, 0);
	sampsub_close(ss);
	nng_close(p.pub);
	journal_close(p.j);
}

static void
test_sampsub_counts_lost_and_new_generation(void)
{
	char *dir = t_tmpdir();
	struct pubside p;
	setup(&p, dir, 64 * 1024);
	uint64_t gen = journal_generation(p.j);
	for (uint64_t s = 1; s <= 5000; s++)
		publish(&p, s, false);
	uint64_t oldest = journal_oldest_seq(p.j);
	struct sampsub *ss;
	n_live = 0;
	CHECK_INT(sampsub_open(&ss, dir, gen, 10), ==, 0);
	CHECK_INT(sampsub_stats(ss)->lost, ==, oldest - 11);
	CHECK_INT(collect(ss, oldest, 5001 - oldest), ==, 5001 - oldest);
	sampsub_close(ss);
	/* a checkpoint from another journal: counted, then everything here */
	CHECK_INT(sampsub_open(&ss, dir, gen ^ 1, 4000), ==, 0);
	CHECK_INT(sampsub_stats(ss)->generation_changes, ==, 1);
	CHECK_INT(collect(ss, journal_oldest_seq(p.j), 10), ==, 10);
	CHECK_INT(n_live, ==, 0); /* none of them was on the bus */
	sampsub_close(ss);
	nng_close(p.pub);
	journal_close(p.j);
}

T_MAIN(T(test_sampsub_fills_bus_gaps_from_journal), T(test_sampsub_counts_lost_and_new_generation))
