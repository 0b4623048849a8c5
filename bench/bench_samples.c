/*
 * What the samples cost downstream (not a test; run by hand):
 *   bench_samples [--data DIR] [--hours H]
 * For the simulator (H hours of its drive/charge cycle, AZE0) and, with
 * --data, the real logs, cut with keyframe_s 0 (changes only) and 60 (the
 * default): samples and keyframes per hour, journal bytes per hour (each
 * Sample packed as leafmon-can packs it, plus the journal's record header and
 * index slot), the local writer's line protocol per hour (one point per group
 * per sample) and the cloud's per 5 minutes (folded at resolution_ms = 1000,
 * uncompressed: what max_bytes_per_5min paces). Pure computation.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "config.h"
#include "cutter.h"
#include "decode.h"
#include "logread.h"
#include "lp.h"
#include "msg.h"
#include "sim.h"
#include "spool_payload.h"

#define JOURNAL_REC_HDR 16 /* ipc/journal.c: [seq u64][len u32][pad u32] */
#define JOURNAL_IDX 24	   /* one struct jidx per record */

struct tally {
	uint64_t samples, keyframes, journal, lp, cloud;
	int64_t first_t, last_t;
};

struct run {
	struct decoder dec;
	struct cutter cut;
	struct sample_out so;
	struct agg agg;
	struct lp_ctx lp;
	struct buf payload, text;
	uint8_t pack[MSG_SAMPLE_MAX];
	struct tally t;
};

static uint64_t
lp_bytes(struct run *r, const struct spool_value *v, size_t n, int64_t t_ns)
{
	struct lp_stats st = {0};

	buf_reset(&r->payload);
	buf_reset(&r->text);
	if (spool_payload_encode(&r->payload, v, n) < 0)
		return 0;
	lp_record(&r->lp, &r->text, t_ns, false, (const uint8_t *)r->payload.p, r->payload.len,
		  NULL, &st);
	return r->text.len;
}

static void
cloud_out(struct run *r, const struct agg_out *o)
{
	r->t.cloud += lp_bytes(r, o->v, o->n, o->m.t_ns);
}

static void
take_sample(struct run *r)
{
	Sample m = LEAFMON__V1__SAMPLE__INIT;
	uint32_t ids[SIG_ID_MAX];
	struct spool_value v[SIG_ID_MAX];
	struct agg_out *o = &(struct agg_out){0};

	for (size_t i = 0; i < r->so.n; i++) {
		ids[i] = r->so.ids[i];
		v[i] = (struct spool_value){.id = r->so.ids[i], .v = r->so.values[i]};
	}
	m.generation = 0x1234567890abcdefULL;
	m.seq = r->t.samples + 1;
	m.t_ns = r->so.t_ns;
	m.n_ids = m.n_values = r->so.n;
	m.ids = ids;
	m.values = r->so.values;
	m.has_boot_ns = m.has_unsynced = true; /* as a live can worker sends them */
	m.boot_ns = r->so.t_ns - 1700000000LL * 1000000000LL;
	size_t len = leafmon__v1__sample__pack(&m, r->pack);
	r->t.samples++;
	r->t.keyframes += r->so.keyframe;
	r->t.journal += JOURNAL_REC_HDR + ((len + 7) & ~(size_t)7) + JOURNAL_IDX;
	r->t.lp += lp_bytes(r, v, r->so.n, r->so.t_ns);
	struct agg_sample s = {.gen = m.generation,
			       .seq = m.seq,
			       .m = {.t_ns = m.t_ns},
			       .ids = ids,
			       .values = r->so.values,
			       .n = r->so.n};
	if (agg_add(&r->agg, &s, o))
		cloud_out(r, o);
}

static void
run_init(struct run *r, int keyframe_s)
{
	memset(r, 0, sizeof(*r));
	decoder_init(&r->dec, CFG_GEN_AUTO);
	cutter_init(&r->cut, 100, keyframe_s);
	agg_init(&r->agg, 1000LL * 1000000);
	lp_init(&r->lp, "leaf-2016", PREC_MS);
	buf_init(&r->payload);
	buf_init(&r->text);
	r->t.first_t = INT64_MIN;
}

static void
run_frame(struct run *r, const struct can_rec *f)
{
	struct sig_update u[DEC_MAX_UPDATES];

	if (r->t.first_t == INT64_MIN)
		r->t.first_t = f->t_ns;
	r->t.last_t = f->t_ns;
	if (cutter_frame(&r->cut, f->t_ns, &r->so))
		take_sample(r);
	cutter_add(&r->cut, u, decoder_frame(&r->dec, f, u, DEC_MAX_UPDATES));
}

static void
run_end(struct run *r)
{
	struct agg_out *o = &(struct agg_out){0};

	if (cutter_flush(&r->cut, &r->so))
		take_sample(r);
	if (agg_flush(&r->agg, o))
		cloud_out(r, o);
	buf_free(&r->payload);
	buf_free(&r->text);
}

static void
report(const char *name, int keyframe_s, const struct tally *t)
{
	double h = (double)(t->last_t - t->first_t) / 3600e9;

	if (h <= 0)
		return;
	printf("%-44s %3d %7.0f %6.0f %9.0f %9.0f %9.0f\n", name, keyframe_s, t->samples / h,
	       t->keyframes / h, t->journal / h, t->lp / h, t->cloud / h / 12);
}

static void
bench_sim(double hours, int keyframe_s)
{
	static struct run r;
	struct sim m;
	struct can_rec f[256];
	int64_t t0 = 1700000000LL * 1000000000LL, end = t0 + (int64_t)(hours * 3600e9);

	run_init(&r, keyframe_s);
	sim_init(&m, GEN_AZE0, BUS_EV, t0);
	while (sim_next_ns(&m) < end) {
		size_t n = sim_run(&m, sim_next_ns(&m) + 100000000LL, f, 256);
		for (size_t i = 0; i < n; i++)
			run_frame(&r, &f[i]);
	}
	run_end(&r);
	report("simulator (AZE0 drive + charge cycle)", keyframe_s, &r.t);
}

static void
bench_log(const char *dir, const char *rel, int keyframe_s)
{
	static struct run r;
	struct logread lr;
	struct can_rec f;
	char path[1024];
	int k;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (logread_open(&lr, path, LF_AUTO, BUS_EV, 0) < 0) {
		printf("%-44s (absent)\n", rel);
		return;
	}
	run_init(&r, keyframe_s);
	while ((k = logread_next(&lr, &f)) != 0)
		if (k > 0)
			run_frame(&r, &f);
	run_end(&r);
	logread_close(&lr);
	report(strrchr(rel, '/') + 1, keyframe_s, &r.t);
}

int
main(int argc, char **argv)
{
	static const char *const logs[] = {
	    "logs/ze0_2011-2012/ZE0w24kWhstock.log", "logs/ze1_2018plus/EV-CANepluseco.log",
	    "logs/aze0_2013-2017/ch1_20250804_161600_bypass.csv",
	    "logs/ze1_2018plus/ZE1-chademo-starting-and-charging.csv"};
	static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
					     {"hours", required_argument, NULL, 'H'},
					     {NULL, 0, NULL, 0}};
	const char *data = NULL;
	double hours = 1;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'd')
			data = optarg;
		else if (ch == 'H' && parse_double(optarg, &hours) == 0 && hours > 0)
			continue;
		else
			return fprintf(stderr, "usage: bench_samples [--data DIR] [--hours H]\n"),
			       2;
	}
	printf("%-44s %3s %7s %6s %9s %9s %9s\n", "source", "key", "samp/h", "key/h", "journal/h",
	       "lp/h", "cloud/5m");
	for (int kf = 0; kf <= 60; kf += 60) {
		bench_sim(hours, kf);
		for (size_t i = 0; data != NULL && i < ARRAY_LEN(logs); i++)
			bench_log(data, logs[i], kf);
	}
	return 0;
}
