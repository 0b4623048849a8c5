/*
 * leafmon trips / charges / parks / battery: the ledger (STATEDIR/ledger.db)
 * read directly, read-only, as a table, JSON (the sessions' detail objects
 * unchanged) or CSV; --monthly for the totals by calendar month.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "json.h"
#include "ledger_query.h"

enum out_mode { OUT_TABLE, OUT_JSON, OUT_CSV };

struct ledger_args {
	enum out_mode mode;
	struct lq_filter f;
	bool monthly;
};

static int
usage(const char *cmd)
{
	fprintf(stderr, "usage: leafmon %s [--since DATE|DURATION] [--json|--csv]%s%s\n", cmd,
		strcmp(cmd, "trips") == 0 ? " [--all]" : "",
		strcmp(cmd, "battery") != 0 ? " [--monthly]" : "");
	return EXIT_USAGE;
}

static int
parse(struct cli *c, int argc, char **argv, struct ledger_args *a)
{
	static const struct option opts[] = {
	    {"since", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
	    {"csv", no_argument, NULL, 'C'},	     {"all", no_argument, NULL, 'a'},
	    {"monthly", no_argument, NULL, 'm'},     {NULL, 0, NULL, 0}};
	struct lq_err e;
	int ch;
	bool trips = strcmp(argv[0], "trips") == 0, battery = strcmp(argv[0], "battery") == 0;

	memset(a, 0, sizeof(*a));
	a->f.since_ns = INT64_MIN;
	a->mode = c->json ? OUT_JSON : OUT_TABLE;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (lq_parse_since(optarg, now_real_ns(), &a->f.since_ns, &e) < 0) {
				fprintf(stderr, "leafmon: --since: %s\n", e.msg);
				return -1;
			}
			break;
		case 'j':
			a->mode = OUT_JSON;
			break;
		case 'C':
			a->mode = OUT_CSV;
			break;
		case 'a':
			if (!trips)
				return -1;
			a->f.moves = true;
			break;
		case 'm':
			if (battery)
				return -1;
			a->monthly = true;
			break;
		default:
			return -1;
		}
	}
	if (optind < argc || (a->monthly && a->mode == OUT_CSV)) {
		if (a->monthly && a->mode == OUT_CSV)
			fprintf(stderr, "leafmon: --monthly has no CSV form (use --json)\n");
		return -1;
	}
	return 0;
}

/* ---- readable tables ---- */

static void
when(const struct lq_val *v, char *out, size_t len)
{
	if (v->type != LQ_NUM) {
		snprintf(out, len, "-");
		return;
	}
	time_t t = (time_t)v->num;
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M", &tm);
}

static const char *
num(const struct lq_val *v, int digits, char *out, size_t len)
{
	if (v->type != LQ_NUM)
		return "-";
	snprintf(out, len, "%.*f", digits, v->num);
	return out;
}

static const char *
dur(const struct lq_val *v, char *out, size_t len)
{
	if (v->type != LQ_NUM)
		return "-";
	long s = lround(v->num);
	if (s >= 3600)
		snprintf(out, len, "%ldh%02ld", s / 3600, s / 60 % 60);
	else
		snprintf(out, len, "%ldm%02ld", s / 60, s % 60);
	return out;
}

static const char *
str(const struct lq_val *v)
{
	return v->type == LQ_STR ? v->str : "-";
}

static const char *
flags(const struct lq_val *partial, const struct lq_val *recovery, const struct lq_val *move,
      char *out, size_t len)
{
	snprintf(out, len, "%s%s%s%s", partial->type == LQ_BOOL && partial->num ? " partial" : "",
		 recovery->type == LQ_STR ? " " : "", recovery->type == LQ_STR ? recovery->str : "",
		 move != NULL && move->type == LQ_BOOL && move->num ? " move" : "");
	return out;
}

static const char *const trip_cols[] = {
    "start",	   "duration_s",    "distance_km",     "net_kwh", "wh_per_km", "soc_start_pct",
    "soc_end_pct", "speed_max_kmh", "pack_temp_end_c", "partial", "recovery",  "move"};

static int
trip_line(void *arg, const char *detail, const struct lq_val *v)
{
	char t[32], a[48], b[48], c[48], d[48], e[48], f[48], g[48], h[48], fl[48];
	(*(int *)arg)++;
	when(&v[0], t, sizeof(t));
	printf("%-16s %7s %8s %7s %6s %5s -> %-5s %6s %5s %s\n", t, dur(&v[1], a, sizeof(a)),
	       num(&v[2], 1, b, sizeof(b)), num(&v[3], 2, c, sizeof(c)),
	       num(&v[4], 0, d, sizeof(d)), num(&v[5], 1, e, sizeof(e)),
	       num(&v[6], 1, f, sizeof(f)), num(&v[7], 0, g, sizeof(g)),
	       num(&v[8], 1, h, sizeof(h)), flags(&v[9], &v[10], &v[11], fl, sizeof(fl)));
	return 0;
}

static const char *const charge_cols[] = {
    "start",	"charge_type", "duration_s",   "soc_start_pct",	  "soc_end_pct",
    "pack_kwh", "grid_kwh",    "power_max_kw", "pack_temp_max_c", "end_reason",
    "cost",	"currency",    "partial",      "recovery"};

static int
charge_line(void *arg, const char *detail, const struct lq_val *v)
{
	char t[32], a[48], b[48], c[48], d[48], e[48], f[48], g[48], cost[32], fl[48];
	(*(int *)arg)++;
	when(&v[0], t, sizeof(t));
	if (v[10].type == LQ_NUM)
		snprintf(cost, sizeof(cost), "%.2f %s", v[10].num, str(&v[11]));
	else
		snprintf(cost, sizeof(cost), "-");
	printf("%-16s %-3s %7s %5s -> %-5s %7s %7s %6s %5s %-11s %-11s%s\n", t, str(&v[1]),
	       dur(&v[2], a, sizeof(a)), num(&v[3], 1, b, sizeof(b)), num(&v[4], 1, c, sizeof(c)),
	       num(&v[5], 2, d, sizeof(d)), num(&v[6], 2, e, sizeof(e)),
	       num(&v[7], 1, f, sizeof(f)), num(&v[8], 1, g, sizeof(g)), str(&v[9]), cost,
	       flags(&v[12], &v[13], NULL, fl, sizeof(fl)));
	return 0;
}

static const char *const park_cols[] = {"start",    "duration_s",	 "soc_lost_pct",
					"kwh_lost", "drain_kwh_per_day", "aux_min_v",
					"partial",  "recovery"};

static int
park_line(void *arg, const char *detail, const struct lq_val *v)
{
	char t[32], a[48], b[48], c[48], d[48], e[48], fl[48];
	(*(int *)arg)++;
	when(&v[0], t, sizeof(t));
	printf("%-16s %8s %9s %8s %7s %7s%s\n", t, dur(&v[1], a, sizeof(a)),
	       num(&v[2], 1, b, sizeof(b)), num(&v[3], 3, c, sizeof(c)),
	       num(&v[4], 3, d, sizeof(d)), num(&v[5], 1, e, sizeof(e)),
	       flags(&v[6], &v[7], NULL, fl, sizeof(fl)));
	return 0;
}

static const char *const daily_cols[] = {"date",	 "soh_pct",	   "capacity_bars",
					 "gids_full",	 "hx_pct",	   "ah",
					 "capacity_kwh", "cells_delta_mv", "aux_min_v"};

static int
daily_line(void *arg, const char *detail, const struct lq_val *v)
{
	char a[48], b[48], c[48], d[48], e[48], f[48], g[48], h[48];
	(*(int *)arg)++;
	printf("%-10s %6s %4s %5s %6s %6s %7s %7s %5s\n", str(&v[0]), num(&v[1], 1, a, sizeof(a)),
	       num(&v[2], 0, b, sizeof(b)), num(&v[3], 0, c, sizeof(c)),
	       num(&v[4], 1, d, sizeof(d)), num(&v[5], 1, e, sizeof(e)),
	       num(&v[6], 2, f, sizeof(f)), num(&v[7], 0, g, sizeof(g)),
	       num(&v[8], 1, h, sizeof(h)));
	return 0;
}

static const struct {
	const char *header;
	const char *const *cols;
	int ncols;
	lq_row_fn line;
} tables[LQ_KINDS] = {
    [LQ_TRIP] = {"start            duration       km     kWh   Wh/km  SOC %          "
		 "km/h  pack°C",
		 trip_cols, ARRAY_LEN(trip_cols), trip_line},
    [LQ_CHARGE] = {"start            type duration SOC %           pack kWh grid kWh  max kW "
		   "max°C end         cost",
		   charge_cols, ARRAY_LEN(charge_cols), charge_line},
    [LQ_PARK] = {"start            duration  SOC lost kWh lost kWh/day 12V min", park_cols,
		 ARRAY_LEN(park_cols), park_line},
    [LQ_DAILY] = {"date          SOH % bars  GIDs   Hx %     Ah cap kWh cell mV  12V", daily_cols,
		  ARRAY_LEN(daily_cols), daily_line},
};

static void
trend_table(const struct lq_trend *t)
{
	static const char *const labels[LQ_SERIES] = {"SOH %", "full GIDs", "capacity kWh"};
	const struct lq_projection *p = &t->proj;
	printf("\ntrend (per year, +- one standard error; %d days in the last 365):\n", t->days);
	for (int w = 0; t->days > 0 && w < LQ_WINDOWS; w++) {
		printf("  %3d days:", t->win[w].days);
		for (int s = 0; s < LQ_SERIES; s++) {
			const struct lq_fit *f = &t->win[w].fit[s];
			if (f->ok)
				printf("  %s %+.2f +- %.2f", labels[s], f->slope * 365.25,
				       f->se_slope * 365.25);
			else
				printf("  %s -", labels[s]);
		}
		printf("\n");
	}
	if (p->ok)
		printf("next capacity bar (%d -> %d, SOH %.2f %%): %s (+- %.0f days: %s .. %s)\n",
		       p->bars, p->bars - 1, p->threshold, p->date, p->stderr_days, p->earliest,
		       p->latest);
	else
		printf("next capacity bar: no projection (%s)\n", p->reason);
}

static const char *
opt(bool has, double v, int digits, char *out, size_t len)
{
	struct lq_val x = {has ? LQ_NUM : LQ_NONE, v, NULL};
	return num(&x, digits, out, len);
}

static void
monthly_table(const struct lq_month *m, int n)
{
	printf("month   trips        km  net kWh  Wh/km charges pack kWh grid kWh park kWh cost\n");
	for (int i = 0; i < n; i++) {
		char a[48], b[48], c[48], d[48], e[48], f[48], cost[96] = "";
		size_t off = 0;
		for (int k = 0; k < m[i].ncost && off < sizeof(cost); k++)
			off += (size_t)snprintf(cost + off, sizeof(cost) - off, "%s%.2f %s",
						k ? ", " : "", m[i].cost[k].cost,
						m[i].cost[k].currency);
		if (m[i].uncosted > 0 && off < sizeof(cost))
			snprintf(cost + off, sizeof(cost) - off, "%s(%d without a price)",
				 off ? " " : "", m[i].uncosted);
		printf("%-7s %5d %9s %8s %6s %7d %8s %8s %8s %s\n", m[i].month, m[i].trips,
		       opt(m[i].has_km, m[i].km, 1, a, sizeof(a)),
		       opt(m[i].has_net, m[i].net_kwh, 2, b, sizeof(b)),
		       opt(m[i].has_km && m[i].has_net && m[i].km >= 0.01,
			   m[i].net_kwh * 1000 / m[i].km, 0, c, sizeof(c)),
		       m[i].charges, opt(m[i].has_pack, m[i].pack_kwh, 2, d, sizeof(d)),
		       opt(m[i].has_grid, m[i].grid_kwh, 2, e, sizeof(e)),
		       opt(m[i].has_lost, m[i].park_kwh_lost, 2, f, sizeof(f)),
		       cost[0] ? cost : "-");
	}
}

/* ---- the commands ---- */

static int
monthly(struct lq *q, const struct ledger_args *a)
{
	struct lq_month *m;
	struct lq_err e;
	int n;
	if (lq_monthly(q, &a->f, &m, &n, &e) < 0) {
		fprintf(stderr, "leafmon: %s\n", e.msg);
		return 1;
	}
	if (a->mode == OUT_JSON) {
		struct buf b;
		buf_init(&b);
		lq_monthly_json(m, n, &b);
		printf("%s\n", buf_str(&b));
		buf_free(&b);
	} else {
		monthly_table(m, n);
	}
	free(m);
	return 0;
}

static int
listing(struct lq *q, enum lq_kind k, const struct ledger_args *a)
{
	struct lq_err e;
	struct buf b;
	int rc = 0, rows = 0;

	buf_init(&b);
	if (a->mode == OUT_JSON)
		rc = k == LQ_DAILY ? lq_battery_json(q, &a->f, &b, &e)
				   : lq_json(q, k, &a->f, &b, &e);
	else if (a->mode == OUT_CSV)
		rc = lq_csv(q, k, &a->f, &b, &e);
	if (rc == 0 && a->mode != OUT_TABLE) {
		fwrite(b.p, 1, b.len, stdout);
		if (a->mode == OUT_JSON)
			putchar('\n');
	}
	buf_free(&b);
	if (rc == 0 && a->mode == OUT_TABLE) {
		printf("%s\n", tables[k].header);
		rc = lq_each(q, k, &a->f, tables[k].cols, tables[k].ncols, tables[k].line, &rows,
			     &e);
		if (rc == 0 && rows == 0)
			printf("(none%s)\n", q->db == NULL ? ": no ledger yet" : "");
	}
	if (rc == 0 && a->mode == OUT_TABLE && k == LQ_DAILY) {
		struct lq_trend t;
		if ((rc = lq_trend(q, &t, &e)) == 0)
			trend_table(&t);
	}
	if (rc < 0)
		fprintf(stderr, "leafmon: %s\n", e.msg);
	return rc < 0 ? 1 : 0;
}

int
cmd_ledger(struct cli *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		enum lq_kind kind;
	} cmds[] = {
	    {"trips", LQ_TRIP}, {"charges", LQ_CHARGE}, {"parks", LQ_PARK}, {"battery", LQ_DAILY}};
	struct ledger_args a;
	struct lq_err e;
	struct lq q;
	enum lq_kind k = LQ_TRIP;

	for (size_t i = 0; i < ARRAY_LEN(cmds); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			k = cmds[i].kind;
	if (parse(c, argc, argv, &a) < 0)
		return usage(argv[0]);
	if (lq_open(&q, c->statedir, &e) < 0) {
		fprintf(stderr, "leafmon: %s\n", e.msg);
		return 1;
	}
	int rc = a.monthly ? monthly(&q, &a) : listing(&q, k, &a);
	lq_close(&q);
	return rc;
}
