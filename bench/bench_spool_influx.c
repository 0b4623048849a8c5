/*
 * Spool -> HTTP throughput against a real InfluxDB, next to the server's own
 * ceiling in the same run: rounds alternate between posting pre-formatted
 * batches of the same lines with one keep-alive connection (the ceiling)
 * and draining a full spool with the delivery state machine (the path
 * leafmon-influx uses). Each round writes into a fresh database. Prints
 * every round and the medians. Run by bench/run_influx_bench.py, which
 * starts the influxd; usage: bench_spool_influx URL DIR [records] [rounds]
 */
#include <curl/curl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

#include "bench_stats.h"
#include "config.h"
#include "deliver.h"
#include "log.h"
#include "lp.h"
#include "signals.h"
#include "spool.h"
#include "spool_payload.h"
#include "util.h"

#define BATCH 5000
#define T0_NS 1700000000000000000LL

static const char *url;

static double
cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double drain_cpu_us; /* our CPU per point while draining */

static void
payload(struct buf *b, uint64_t i)
{
	struct spool_value v[6] = {
	    {SIG_battery_voltage_v, 0, 350 + (double)(i % 1000) / 10},
	    {SIG_battery_current_a, 0, (double)(i % 4001) / 4 - 500},
	    {SIG_battery_power_kw, 0, (double)(i % 997) / 7},
	    {SIG_battery_soc_pct, 0, (double)(i % 1000) / 10},
	    {SIG_battery_gids, 0, (double)(100 + i % 200)},
	    {SIG_battery_main_relay_on, 0, (double)(i % 2)},
	};
	buf_reset(b);
	spool_payload_encode(b, v, 6);
}

static int
query(const char *q)
{
	char u[512], *esc;
	CURL *e = curl_easy_init();
	esc = curl_easy_escape(e, q, 0);
	snprintf(u, sizeof(u), "%s/query?q=%s", url, esc);
	curl_free(esc);
	curl_easy_setopt(e, CURLOPT_URL, u);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
	FILE *null = fopen("/dev/null", "w");
	curl_easy_setopt(e, CURLOPT_WRITEDATA, null);
	int rc = curl_easy_perform(e) == CURLE_OK ? 0 : -1;
	fclose(null);
	curl_easy_cleanup(e);
	return rc;
}

static size_t
grab(char *p, size_t s, size_t n, void *arg)
{
	buf_append(arg, p, s * n);
	return s * n;
}

static long
count_points(const char *db)
{
	char u[512];
	struct buf out;
	CURL *e = curl_easy_init();
	buf_init(&out);
	snprintf(u, sizeof(u), "%s/query?db=%s&q=SELECT%%20count(battery_gids)%%20FROM%%20battery", url, db);
	curl_easy_setopt(e, CURLOPT_URL, u);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, grab);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
	curl_easy_perform(e);
	curl_easy_cleanup(e);
	const char *p = strstr(buf_str(&out), "\"values\":[[");
	p = p ? strchr(p, ',') : NULL;
	long n = p ? strtol(p + 1, NULL, 10) : -1;
	buf_free(&out);
	return n;
}

/* The ceiling: the same lines in batches of BATCH, one connection. */
static double
ceiling(const char *db, const struct buf *lines, const size_t *ends, long n)
{
	char u[512];
	snprintf(u, sizeof(u), "%s/write?db=%s&precision=ms", url, db);
	CURL *e = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	curl_easy_setopt(e, CURLOPT_URL, u);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	int64_t t0 = now_mono_ns();
	for (long i = 0; i < n; i += BATCH) {
		size_t from = i == 0 ? 0 : ends[i - 1];
		long last = i + BATCH < n ? i + BATCH : n;
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, lines->p + from);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)(ends[last - 1] - from));
		long status = 0;
		if (curl_easy_perform(e) != CURLE_OK ||
		    (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status), status != 204))
			fatalx("ceiling write failed (HTTP %ld)", status);
	}
	double s = (double)(now_mono_ns() - t0) / 1e9;
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return (double)n / s;
}

static void
fill(struct spool *sp, long n, double *rate, uint64_t *fsyncs)
{
	struct buf b;
	uint64_t rid;
	buf_init(&b);
	int64_t t0 = now_mono_ns();
	for (long i = 0; i < n; i++) {
		struct spool_meta m = {T0_NS + i * NSEC_PER_MSEC, 0, true};
		payload(&b, (uint64_t)i);
		spool_append(sp, &m, b.p, b.len, &rid);
		if (i % 10000 == 9999)
			spool_commit(sp, NULL, 0);
	}
	spool_commit(sp, NULL, 0);
	*rate = (double)n / ((double)(now_mono_ns() - t0) / 1e9);
	struct spool_stats st;
	spool_stats(sp, &st);
	*fsyncs = st.fsyncs;
	buf_free(&b);
}

/* The spool path: a full spool drained by the delivery state machine. */
static double
drain(const char *dir, const char *db, long n, double *fill_rate, uint64_t *fsyncs)
{
	char err[256];
	struct spool *sp;
	struct spool_opts so = {.dir = dir, .name = "bench", .max_bytes = 4ull << 30};
	struct config cfg;
	config_defaults(&cfg);
	snprintf(cfg.influx.url, sizeof(cfg.influx.url), "%s", url);
	snprintf(cfg.influx.database, sizeof(cfg.influx.database), "%s", db);
	cfg.influx.api = API_V1;
	if (spool_open(&sp, &so, err, sizeof(err)) < 0)
		fatalx("%s", err);
	fill(sp, n, fill_rate, fsyncs);
	struct loop *l = loop_new();
	struct deliver *d;
	struct deliver_opts o = {.name = "bench", .w = &cfg.influx, .vehicle = "bench",
				 .deadletter_path = "/dev/null"};
	if (deliver_new(&d, l, sp, &o) < 0)
		fatalx("deliver");
	struct spool_stats st;
	int64_t t0 = now_mono_ns();
	double c0 = cpu_s();
	deliver_kick(d);
	do {
		loop_once(l, 100 * NSEC_PER_MSEC);
		spool_stats(sp, &st);
	} while (st.queued_records > 0);
	double rate = (double)n / ((double)(now_mono_ns() - t0) / 1e9);
	drain_cpu_us = (cpu_s() - c0) * 1e6 / (double)n;
	if (deliver_stats(d)->lines_ok != (uint64_t)n)
		fatalx("drained %llu lines of %ld", (unsigned long long)deliver_stats(d)->lines_ok, n);
	deliver_free(d);
	loop_free(l);
	spool_close(sp);
	return rate;
}

int
main(int argc, char **argv)
{
	if (argc < 3)
		fatalx("usage: bench_spool_influx URL DIR [records] [rounds]");
	log_init("bench", LOG_WARNING);
	url = argv[1];
	long n = argc > 3 ? atol(argv[3]) : 200000;
	int rounds = argc > 4 ? atoi(argv[4]) : 5;
	double ceil[32], spool[32], fills[32];
	struct buf lines;
	struct lp_ctx lp;
	struct lp_stats lps = {0};
	struct buf b;
	size_t *ends = malloc((size_t)n * sizeof(*ends));

	curl_global_init(CURL_GLOBAL_DEFAULT);
	buf_init(&lines);
	buf_init(&b);
	lp_init(&lp, "bench", PREC_MS);
	for (long i = 0; i < n; i++) { /* exactly the lines the spool path sends */
		payload(&b, (uint64_t)i);
		lp_record(&lp, &lines, T0_NS + i * NSEC_PER_MSEC, false, (uint8_t *)b.p, b.len,
			  &ends[i], &lps);
	}
	printf("%ld points of 6 fields, %.1f bytes each, batches of %d\n", n,
	       (double)lines.len / (double)n, BATCH);
	for (int r = 0; r < rounds && r < 32; r++) {
		char db[64], cdb[64], dir[600], q[128];
		uint64_t fsyncs;
		snprintf(cdb, sizeof(cdb), "ceil%d", r);
		snprintf(db, sizeof(db), "spool%d", r);
		snprintf(dir, sizeof(dir), "%s/spool%d", argv[2], r);
		snprintf(q, sizeof(q), "CREATE DATABASE %s", cdb);
		query(q);
		snprintf(q, sizeof(q), "CREATE DATABASE %s", db);
		query(q);
		/* alternate which goes first, so neither always meets a warmer server */
		if (r % 2 == 0)
			ceil[r] = ceiling(cdb, &lines, ends, n);
		spool[r] = drain(dir, db, n, &fills[r], &fsyncs);
		if (r % 2 == 1)
			ceil[r] = ceiling(cdb, &lines, ends, n);
		long got = count_points(db);
		snprintf(q, sizeof(q), "DROP DATABASE %s", cdb);
		query(q);
		printf("round %d: ceiling %.0f points/s, spool->HTTP %.0f points/s (%.1f %%), "
		       "spool fill %.0f records/s with %llu fsyncs, %ld points stored, "
		       "drain CPU %.2f us/point\n",
		       r, ceil[r], spool[r], 100 * spool[r] / ceil[r], fills[r],
		       (unsigned long long)fsyncs, got, drain_cpu_us);
		if (got != n)
			fatalx("round %d stored %ld points, not %ld", r, got, n);
		snprintf(q, sizeof(q), "DROP DATABASE %s", db);
		query(q);
		fflush(stdout);
	}
	double ratio[32];
	for (int r = 0; r < rounds && r < 32; r++)
		ratio[r] = 100 * spool[r] / ceil[r];
	double mr = median(ratio, rounds);
	double mc = median(ceil, rounds), ms = median(spool, rounds), mf = median(fills, rounds);
	printf("MEDIAN ceiling %.0f points/s, spool->HTTP %.0f points/s, ratio %.1f %% "
	       "(median of the rounds' ratios %.1f %%), spool fill %.0f records/s\n",
	       mc, ms, 100 * ms / mc, mr, mf);
	free(ends);
	buf_free(&lines);
	buf_free(&b);
	return 0;
}
