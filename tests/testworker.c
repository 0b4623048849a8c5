/*
 * A worker for the supervisor's integration tests, installed under every
 * worker name (leafmon-can, ...). LEAFMON_TEST_<NAME> picks its behaviour:
 *   normal       ready at once, heartbeats, exits 0 on stop
 *   crash        exits 1 after 20 ms, never ready
 *   exit78       exits 78 (configuration error) at once
 *   hang         ready, then its loop blocks: no more heartbeats
 *   ignore-stop  ready, ignores Stop (leafmond must escalate)
 *   publish      the can worker's role: a sample every 10 ms into the
 *                journal and on samples.ipc, seq continuing the journal
 *   empty-msgs   ready, and a zero-length packet on fd 3 every 50 ms (must
 *                not read as the end of the channel)
 *   subscribe    a writer's role: gap-free subscription from a checkpoint
 *                in STATEDIR; each seq appended to STATEDIR/<name>.seqs
 */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus.h"
#include "journal.h"
#include "log.h"
#include "sampsub.h"
#include "signals.h"
#include "util.h"
#include "worker.h"

struct tw {
	struct worker w;
	const char *mode;
	struct loop_timer *timer;
	/* publish */
	struct journal *j;
	nng_socket pub;
	/* subscribe */
	struct sampsub *ss;
	FILE *seqs;
	char ckpath[512];
	uint64_t delivered;
};

static void
on_exit_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct tw *tw = arg;
	if (strcmp(tw->mode, "crash") == 0)
		exit(1);
	if (strcmp(tw->mode, "hang") == 0)
		for (;;)
			pause(); /* the loop is stuck: heartbeats stop */
}

static void
send_empty(struct loop *l, struct loop_timer *t, void *arg)
{
	(void)!send(WORKER_CHAN_FD, "", 0, MSG_DONTWAIT | MSG_NOSIGNAL);
	loop_timer_after(t, 50 * NSEC_PER_MSEC);
}

static void
publish_one(struct loop *l, struct loop_timer *t, void *arg)
{
	struct tw *tw = arg;
	Sample s = LEAFMON__V1__SAMPLE__INIT;
	uint32_t ids[1] = {SIG_battery_voltage_v};
	double vals[1];
	uint8_t buf[128];
	uint64_t seq = journal_next_seq(tw->j);
	vals[0] = 300.0 + (double)(seq % 100);
	s.generation = journal_generation(tw->j);
	s.seq = seq;
	s.t_ns = now_real_ns();
	s.n_ids = s.n_values = 1;
	s.ids = ids;
	s.values = vals;
	size_t len = leafmon__v1__sample__pack(&s, buf);
	if (journal_append(tw->j, seq, buf, len) == 0)
		bus_publish(tw->pub, TOPIC_SAMPLE, &s.base);
	loop_timer_after(t, 10 * NSEC_PER_MSEC);
}

static void
checkpoint(struct tw *tw)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%016llx %llu\n",
			 (unsigned long long)sampsub_generation(tw->ss),
			 (unsigned long long)sampsub_last_seq(tw->ss));
	fflush(tw->seqs);
	fsync(fileno(tw->seqs));
	file_write_atomic(tw->ckpath, line, (size_t)n, 0644);
}

static void
drain(struct tw *tw)
{
	Sample *m;
	while ((m = sampsub_next(tw->ss)) != NULL) {
		fprintf(tw->seqs, "%llu\n", (unsigned long long)m->seq);
		tw->delivered++;
		sampsub_free(m);
	}
}

static void
on_samples(struct loop *l, int fd, uint32_t ev, void *arg)
{
	drain(arg);
}

static void
on_sub_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct tw *tw = arg;
	sampsub_poll_journal(tw->ss);
	drain(tw);
	checkpoint(tw);
	loop_timer_after(t, 100 * NSEC_PER_MSEC);
}

static void
on_stop(struct worker *w, void *arg)
{
	struct tw *tw = arg;
	if (strcmp(tw->mode, "ignore-stop") == 0)
		return;
	if (tw->ss != NULL) {
		drain(tw);
		checkpoint(tw);
	}
	worker_exit(w, 0);
}

static void
on_hb(struct worker *w, struct heartbeat *hb, void *arg)
{
	struct tw *tw = arg;
	hb_counter(hb, "test_pid", getpid());
	if (tw->ss != NULL) {
		hb_counter(hb, "delivered", (double)tw->delivered);
		hb_counter(hb, "lost", (double)sampsub_stats(tw->ss)->lost);
	}
	if (tw->j != NULL)
		hb_counter(hb, "next_seq", (double)journal_next_seq(tw->j));
}

static void
start_subscriber(struct tw *tw)
{
	char path[512];
	unsigned long long gen = 0, seq = 0;
	snprintf(tw->ckpath, sizeof(tw->ckpath), "%s/%s.ckpt", tw->w.statedir, tw->w.name);
	FILE *ck = fopen(tw->ckpath, "r");
	if (ck != NULL) {
		if (fscanf(ck, "%llx %llu", &gen, &seq) != 2)
			gen = seq = 0;
		fclose(ck);
	}
	mkdir_p(tw->w.statedir, 0755);
	snprintf(path, sizeof(path), "%s/%s.seqs", tw->w.statedir, tw->w.name);
	tw->seqs = fopen(path, "a");
	if (tw->seqs == NULL || sampsub_open(&tw->ss, tw->w.rundir, gen, seq) < 0)
		fatal("subscriber setup");
	loop_add_fd(tw->w.loop, sampsub_fd(tw->ss), EPOLLIN, on_samples, tw);
	tw->timer = loop_timer_new(tw->w.loop, on_sub_timer, tw);
	loop_timer_after(tw->timer, 100 * NSEC_PER_MSEC);
}

int
main(int argc, char **argv)
{
	static struct tw tw;
	static char argv0[256];
	snprintf(argv0, sizeof(argv0), "%s", argv[0]);
	char *base = basename(argv0);
	const char *name = strncmp(base, "leafmon-", 8) == 0 ? base + 8 : base;
	char env[64];
	snprintf(env, sizeof(env), "LEAFMON_TEST_%s", name);
	for (char *p = env; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	tw.mode = getenv(env) ? getenv(env) : "normal";

	worker_init(&tw.w, name, argc, argv);
	if (strcmp(tw.mode, "exit78") == 0)
		worker_fail(WORKER_EXIT_CONFIG, "exit78: a configuration error, as asked");
	worker_set_stop(&tw.w, on_stop, &tw);
	worker_set_heartbeat(&tw.w, on_hb, &tw);
	if (strcmp(tw.mode, "crash") == 0 || strcmp(tw.mode, "hang") == 0) {
		tw.timer = loop_timer_new(tw.w.loop, on_exit_timer, &tw);
		loop_timer_after(tw.timer, (strcmp(tw.mode, "hang") == 0 ? 300 : 20) * NSEC_PER_MSEC);
	}
	if (strcmp(tw.mode, "publish") == 0) {
		if (journal_open(&tw.j, tw.w.rundir, true) < 0 ||
		    bus_pub_listen(&tw.pub, tw.w.rundir, BUS_SAMPLES) != 0)
			fatal("publisher setup");
		tw.timer = loop_timer_new(tw.w.loop, publish_one, &tw);
		loop_timer_after(tw.timer, 0);
	}
	if (strcmp(tw.mode, "subscribe") == 0)
		start_subscriber(&tw);
	if (strcmp(tw.mode, "empty-msgs") == 0) {
		tw.timer = loop_timer_new(tw.w.loop, send_empty, &tw);
		loop_timer_after(tw.timer, 0);
	}
	if (strcmp(tw.mode, "crash") != 0)
		worker_ready(&tw.w, tw.mode);
	return worker_run(&tw.w);
}
