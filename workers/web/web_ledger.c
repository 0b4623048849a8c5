/*
 * The ledger's routes: /api/trips, /api/charges, /api/parks, /api/battery
 * and /api/monthly, the same JSON as `leafmon trips|charges|parks|battery
 * --json` and `--monthly --json` (common/ledger_query.c), from
 * STATEDIR/ledger.db opened read-only per request. A query holds the loop
 * for its few milliseconds (a year of sessions is a few thousand rows);
 * the writer's lock can hold it LQ_BUSY_MS at most.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_query.h"
#include "web.h"
#include "wparam.h"

enum ledger_route { LR_LIST, LR_BATTERY, LR_MONTHLY };

static int
filter_of(struct wreq *r, struct lq_filter *f, struct lq_err *e)
{
	const char *since = web_arg(r, "since"), *all = web_arg(r, "all");
	f->since_ns = INT64_MIN;
	f->moves = false;
	if (since != NULL && lq_parse_since(since, now_real_ns(), &f->since_ns, e) < 0)
		return -1;
	if (all != NULL && parse_bool(all, &f->moves) < 0) {
		snprintf(e->msg, sizeof(e->msg), "all must be true or false, not '%.*s'",
			 wparam_clip(all, 40), all);
		return -1;
	}
	return 0;
}

static enum MHD_Result
ledger_answer(struct wreq *r, enum ledger_route route, enum lq_kind k)
{
	struct lq_filter f;
	struct lq_err e;
	struct lq q;
	struct buf b;
	int rc;

	if (filter_of(r, &f, &e) < 0)
		return web_send_error(r, 400, "%s", e.msg);
	r->web->st.ledger_queries++;
	if (lq_open(&q, r->web->w->statedir, &e) < 0) {
		r->web->st.ledger_errors++;
		return web_send_error(r, 500, "%s", e.msg);
	}
	buf_init(&b);
	if (route == LR_MONTHLY) {
		struct lq_month *m;
		int n;
		if ((rc = lq_monthly(&q, &f, &m, &n, &e)) == 0)
			lq_monthly_json(m, n, &b);
		free(m);
	} else if (route == LR_BATTERY) {
		rc = lq_battery_json(&q, &f, &b, &e);
	} else {
		rc = lq_json(&q, k, &f, &b, &e);
	}
	lq_close(&q);
	enum MHD_Result res;
	if (rc < 0) {
		r->web->st.ledger_errors++;
		res = web_send_error(r, 500, "%s", e.msg);
	} else {
		res = web_send_buf(r, 200, "application/json", &b);
	}
	buf_free(&b);
	return res;
}

enum MHD_Result
ledger_trips(struct wreq *r)
{
	return ledger_answer(r, LR_LIST, LQ_TRIP);
}

enum MHD_Result
ledger_charges(struct wreq *r)
{
	return ledger_answer(r, LR_LIST, LQ_CHARGE);
}

enum MHD_Result
ledger_parks(struct wreq *r)
{
	return ledger_answer(r, LR_LIST, LQ_PARK);
}

enum MHD_Result
ledger_battery(struct wreq *r)
{
	return ledger_answer(r, LR_BATTERY, LQ_DAILY);
}

enum MHD_Result
ledger_monthly(struct wreq *r)
{
	return ledger_answer(r, LR_MONTHLY, LQ_TRIP);
}
