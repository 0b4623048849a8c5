/*
 * The ledger's read side: sessions by kind, CSV, monthly totals and the
 * battery trend, answered by SQLite (json_extract over each row's detail)
 * from a read-only connection.
 */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "json.h"
#include "ledger_query.h"

static const char *const kind_names[LQ_KINDS] = {"trip", "charge", "park", "battery_daily"};

#define COMMON_KEYS                                                                                \
	"kind", "start", "end", "partial", "recovery", "distance_km", "energy_out_kwh",            \
	    "energy_in_kwh", "soc_start_pct", "soc_end_pct", "gids_start", "gids_end",             \
	    "duration_s", "aux_min_v"
#define CAPACITY_KEYS "capacity_kwh", "capacity_ah", "capacity_temp_c"

static const char *const trip_keys[] = {COMMON_KEYS,
					"wh_per_km",
					"odo_start_km",
					"odo_end_km",
					"driving_s",
					"net_kwh",
					"regen_share",
					"speed_mean_kmh",
					"speed_max_kmh",
					"power_max_kw",
					"climate_kwh",
					"pack_temp_start_c",
					"pack_temp_end_c",
					"ambient_mean_c",
					"move",
					CAPACITY_KEYS,
					NULL};
static const char *const charge_keys[] = {COMMON_KEYS,
					  "charge_type",
					  "pack_kwh",
					  "grid_kwh",
					  "grid_source",
					  "charging_s",
					  "power_max_kw",
					  "power_mean_kw",
					  "pack_temp_start_c",
					  "pack_temp_max_c",
					  "pack_temp_end_c",
					  "end_reason",
					  "cost",
					  "currency",
					  CAPACITY_KEYS,
					  NULL};
static const char *const park_keys[] = {
    COMMON_KEYS,	 "soc_lost_pct", "gids_lost", "kwh_lost",
    "drain_kwh_per_day", "aux_start_v",	 "aux_end_v", NULL};
static const char *const daily_keys[] = {
    "kind",	 "start",  "end", "partial",	 "date",	   "soh_pct",	"capacity_bars",
    "gids_full", "hx_pct", "ah",  CAPACITY_KEYS, "cells_delta_mv", "aux_min_v", NULL};

/* The contract's keys of kind k, NULL-terminated. */
static const char *const *
lq_contract_keys(enum lq_kind k)
{
	static const char *const *const keys[LQ_KINDS] = {trip_keys, charge_keys, park_keys,
							  daily_keys};
	return keys[k];
}

static int
fail(struct lq_err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int
db_fail(struct lq *q, struct lq_err *e, const char *what)
{
	return fail(e, "%s: %s: %s", q->path, what, sqlite3_errmsg(q->db));
}

/* ---- opening ---- */

static int
user_version(struct lq *q, int *v, struct lq_err *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return db_fail(q, e, "cannot read it");
	int rc = sqlite3_step(st);
	*v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : db_fail(q, e, "cannot read its schema version");
}

/* "file:" URI of the path (RFC 3986: all but unreserved characters and '/'
 * percent-encoded), read-only, immutable when asked. */
static int
db_open(struct lq *q, bool immutable)
{
	static const char hex[] = "0123456789ABCDEF";
	char uri[3 * sizeof(q->path) + 32];
	size_t n = 0;
	n += (size_t)snprintf(uri, sizeof(uri), "file:");
	for (const unsigned char *p = (const unsigned char *)q->path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/-._~", *p) != NULL) {
			uri[n++] = (char)*p;
		} else {
			uri[n++] = '%';
			uri[n++] = hex[*p >> 4];
			uri[n++] = hex[*p & 15];
		}
	}
	snprintf(uri + n, sizeof(uri) - n, "%s", immutable ? "?mode=ro&immutable=1" : "?mode=ro");
	return sqlite3_open_v2(uri, &q->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
}

/* No -wal file: the writer is not running and left everything in the main
 * file. A reader that may not write the directory cannot make the -shm a
 * WAL database needs, so it reads the file as immutable instead. */
static bool
wal_absent(const struct lq *q)
{
	char wal[sizeof(q->path) + 8];
	struct stat sb;
	snprintf(wal, sizeof(wal), "%s-wal", q->path);
	return stat(wal, &sb) < 0 && errno == ENOENT;
}

int
lq_open(struct lq *q, const char *statedir, struct lq_err *e)
{
	struct stat sb;
	int v, rc = -1;

	memset(q, 0, sizeof(*q));
	if (snprintf(q->path, sizeof(q->path), "%s/ledger.db", statedir) >= (int)sizeof(q->path))
		return fail(e, "%s/ledger.db: path too long", statedir);
	if (stat(q->path, &sb) < 0)
		return errno == ENOENT ? 0 : fail(e, "%s: %s", q->path, strerror(errno));
	for (int immutable = 0; immutable < 2 && rc < 0; immutable++) {
		if (db_open(q, immutable) != SQLITE_OK) {
			db_fail(q, e, "cannot open it");
			lq_close(q);
			break;
		}
		sqlite3_busy_timeout(q->db, LQ_BUSY_MS);
		rc = user_version(q, &v, e);
		int code = sqlite3_errcode(q->db);
		if (rc < 0) {
			lq_close(q);
			if ((code != SQLITE_READONLY && code != SQLITE_CANTOPEN) || !wal_absent(q))
				break;
		}
	}
	if (rc < 0)
		return -1;
	if (v > LQ_SCHEMA_VERSION) {
		fail(e,
		     "%s has schema version %d; this leafmon reads versions up to %d: upgrade it",
		     q->path, v, LQ_SCHEMA_VERSION);
		lq_close(q);
		return -1;
	}
	if (v == 0) /* the writer has not made its tables yet */
		lq_close(q);
	return 0;
}

void
lq_close(struct lq *q)
{
	if (q->db != NULL)
		sqlite3_close(q->db);
	q->db = NULL;
}

/* ---- since ---- */

static int
since_date(const char *s, int64_t *ns)
{
	struct tm tm = {.tm_isdst = -1};
	const char *end = strptime(s, "%Y-%m-%d", &tm);
	if (end != NULL && *end == 'T') {
		end = strptime(end + 1, "%H:%M", &tm);
		if (end != NULL && *end == ':')
			end = strptime(end + 1, "%S", &tm);
	}
	/* 1970..2200: Unix ns of those fit in 64 bits */
	if (end == NULL || *end != '\0' || tm.tm_year < 70 || tm.tm_year > 300)
		return -1;
	time_t t = mktime(&tm);
	if (t == (time_t)-1 || t < 0)
		return -1;
	*ns = (int64_t)t * NSEC_PER_SEC;
	return 0;
}

int
lq_parse_since(const char *s, int64_t now_ns, int64_t *since_ns, struct lq_err *e)
{
	static const struct {
		char unit;
		int64_t s;
	} units[] = {{'h', 3600}, {'d', 86400}, {'w', 7 * 86400}, {'y', 365 * 86400}};
	size_t len = strlen(s);
	int64_t n;
	char num[24];

	if (since_date(s, since_ns) == 0)
		return 0;
	for (size_t i = 0; len > 1 && len < sizeof(num) && i < ARRAY_LEN(units); i++) {
		if (s[len - 1] != units[i].unit)
			continue;
		memcpy(num, s, len - 1);
		num[len - 1] = '\0';
		/* at most 200 years back: no overflow, nothing an owner means */
		if (num[0] < '0' || num[0] > '9' ||
		    parse_i64(num, 0, 200LL * 366 * 86400 / units[i].s, &n) < 0)
			break;
		*since_ns = now_ns - n * units[i].s * NSEC_PER_SEC;
		return 0;
	}
	char shown[64];
	str_escape(shown, 41, s);
	return fail(e,
		    "since '%s' is neither a date (YYYY-MM-DD[THH:MM[:SS]]) nor a duration "
		    "(12h, 30d, 2w, 1y)",
		    shown);
}

/* ---- sessions ---- */

static int
prepare(struct lq *q, const char *sql, sqlite3_stmt **st, struct lq_err *e)
{
	if (sqlite3_prepare_v2(q->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_fail(q, e, "query");
	return 0;
}

static void
filter_sql(struct buf *b, enum lq_kind k, const struct lq_filter *f)
{
	buf_puts(b, " FROM session WHERE kind = ?1 AND start_ns >= ?2");
	if (k == LQ_TRIP && !f->moves)
		buf_puts(b, " AND json_extract(detail, '$.move') IS NOT 1");
}

static void
read_val(sqlite3_stmt *st, int col, struct lq_val *v)
{
	const char *type = (const char *)sqlite3_column_text(st, col);
	memset(v, 0, sizeof(*v));
	if (type == NULL || strcmp(type, "null") == 0)
		return;
	v->str = (const char *)sqlite3_column_text(st, col + 1);
	if (strcmp(type, "true") == 0 || strcmp(type, "false") == 0) {
		v->type = LQ_BOOL;
		v->num = type[0] == 't';
	} else if (strcmp(type, "integer") == 0 || strcmp(type, "real") == 0) {
		v->type = LQ_NUM;
		v->num = sqlite3_column_double(st, col + 1);
	} else if (strcmp(type, "text") == 0) {
		v->type = LQ_STR;
	} else {
		v->type = LQ_JSON;
	}
}

int
lq_each(struct lq *q, enum lq_kind k, const struct lq_filter *f, const char *const *keys, int nkeys,
	lq_row_fn cb, void *arg, struct lq_err *e)
{
	struct lq_val vals[LQ_MAX_KEYS];
	struct buf sql;
	sqlite3_stmt *st;
	int rc = 0;

	if (q->db == NULL)
		return 0;
	if (nkeys > LQ_MAX_KEYS)
		return fail(e, "%d keys asked, at most %d", nkeys, LQ_MAX_KEYS);
	buf_init(&sql);
	buf_puts(&sql, "SELECT detail");
	for (int i = 0; i < nkeys; i++)
		buf_printf(&sql, ", json_type(detail, ?%d), json_extract(detail, ?%d)", i + 3,
			   i + 3);
	filter_sql(&sql, k, f);
	buf_puts(&sql, " ORDER BY start_ns");
	if (sql.oom || prepare(q, buf_str(&sql), &st, e) < 0) {
		buf_free(&sql);
		return sql.oom ? fail(e, "out of memory") : -1;
	}
	buf_free(&sql);
	sqlite3_bind_text(st, 1, kind_names[k], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, f->since_ns);
	for (int i = 0; i < nkeys; i++) {
		char path[80];
		snprintf(path, sizeof(path), "$.\"%s\"", keys[i]);
		sqlite3_bind_text(st, i + 3, path, -1, SQLITE_TRANSIENT);
	}
	int step;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < nkeys; i++)
			read_val(st, 1 + 2 * i, &vals[i]);
		rc = cb(arg, (const char *)sqlite3_column_text(st, 0), vals);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_fail(q, e, "reading sessions");
	sqlite3_finalize(st);
	return rc;
}

struct json_walk {
	struct buf *out;
	int n;
};

static int
json_row(void *arg, const char *detail, const struct lq_val *vals)
{
	struct json_walk *w = arg;
	if (w->n++ > 0)
		buf_putc(w->out, ',');
	buf_puts(w->out, detail != NULL ? detail : "null");
	return 0;
}

int
lq_json(struct lq *q, enum lq_kind k, const struct lq_filter *f, struct buf *out, struct lq_err *e)
{
	struct json_walk w = {out, 0};
	buf_putc(out, '[');
	if (lq_each(q, k, f, NULL, 0, json_row, &w, e) < 0)
		return -1;
	buf_putc(out, ']');
	return out->oom ? fail(e, "out of memory") : 0;
}

/* ---- CSV ---- */

static void
csv_cell(struct buf *b, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		buf_puts(b, s);
		return;
	}
	buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			buf_putc(b, '"');
		buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

struct csv_walk {
	struct buf *out;
	int nkeys;
};

static int
csv_row(void *arg, const char *detail, const struct lq_val *vals)
{
	struct csv_walk *w = arg;
	for (int i = 0; i < w->nkeys; i++) {
		if (i > 0)
			buf_putc(w->out, ',');
		if (vals[i].type == LQ_BOOL)
			buf_puts(w->out, vals[i].num != 0 ? "true" : "false");
		else if (vals[i].type != LQ_NONE && vals[i].str != NULL)
			csv_cell(w->out, vals[i].str);
	}
	buf_puts(w->out, "\r\n");
	return 0;
}

static bool
listed(const char *const *keys, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (strcmp(keys[i], key) == 0)
			return true;
	return false;
}

/* Keys some row carries beyond the contract's, by name, appended to keys. */
static int
extra_keys(struct lq *q, enum lq_kind k, const struct lq_filter *f, char **keys, int *n,
	   struct lq_err *e)
{
	struct buf sql;
	sqlite3_stmt *st;
	buf_init(&sql);
	buf_puts(&sql, "SELECT DISTINCT j.key FROM (SELECT detail");
	filter_sql(&sql, k, f);
	buf_puts(&sql, ") AS s, json_each(s.detail) AS j ORDER BY j.key");
	int rc = sql.oom ? fail(e, "out of memory") : prepare(q, buf_str(&sql), &st, e);
	buf_free(&sql);
	if (rc < 0)
		return -1;
	sqlite3_bind_text(st, 1, kind_names[k], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, f->since_ns);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		if (key == NULL || listed((const char *const *)keys, *n, key))
			continue;
		if (*n == LQ_MAX_KEYS || (keys[*n] = strdup(key)) == NULL)
			break;
		(*n)++;
	}
	if (rc == SQLITE_ROW)
		rc = fail(e, "the sessions carry more than %d distinct keys (or no memory)",
			  LQ_MAX_KEYS);
	else
		rc = rc == SQLITE_DONE ? 0 : db_fail(q, e, "reading keys");
	sqlite3_finalize(st);
	return rc;
}

int
lq_csv(struct lq *q, enum lq_kind k, const struct lq_filter *f, struct buf *out, struct lq_err *e)
{
	char *keys[LQ_MAX_KEYS];
	int n = 0, ncontract, rc = 0;

	for (const char *const *c = lq_contract_keys(k); *c != NULL; c++)
		keys[n++] = (char *)*c;
	ncontract = n;
	if (q->db != NULL)
		rc = extra_keys(q, k, f, keys, &n, e);
	for (int i = 0; rc == 0 && i < n; i++) {
		if (i > 0)
			buf_putc(out, ',');
		csv_cell(out, keys[i]);
	}
	buf_puts(out, "\r\n");
	struct csv_walk w = {out, n};
	if (rc == 0)
		rc = lq_each(q, k, f, (const char *const *)keys, n, csv_row, &w, e);
	for (int i = ncontract; i < n; i++)
		free(keys[i]);
	if (rc == 0 && out->oom)
		rc = fail(e, "out of memory");
	return rc;
}
