/*
 * Unit tests of the ledger database (ledger_db.h) and the battery check
 * (ledger_soh.h): the schema made from an empty file, migrations and a
 * newer schema refused, the upsert and phase rules, duplicate delivery, the
 * feed point in the same transaction, the writer lock, a corrupt file.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ledger_db.h"
#include "ledger_soh.h"
#include "t.h"
#include "util.h"

static char *
db_path(void)
{
	static char p[4096];
	snprintf(p, sizeof(p), "%s/%s", t_tmpdir(), LDB_FILE);
	return p;
}

static struct ldb *
open_w(const char *path)
{
	struct ldb *db;
	char err[512];
	int rc = ldb_open_writer(&db, path, err, sizeof(err));
	if (rc != 0)
		t_fail(__FILE__, __LINE__, "open: %s", err);
	return db;
}

/* A column of the session row, read with the sqlite3 library directly (as
 * a reader would). */
static int
row(const char *path, const char *sql, char *out, size_t len)
{
	sqlite3 *s;
	sqlite3_stmt *st;
	int rc = -1;
	out[0] = '\0';
	if (sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			const unsigned char *v = sqlite3_column_text(st, 0);
			snprintf(out, len, "%s", v ? (const char *)v : "NULL");
			rc = 0;
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(s);
	return rc;
}

static struct ldb_event
ev(const char *kind, const char *phase, int64_t t_ns, int64_t start_ns, const char *detail)
{
	return (struct ldb_event){.kind = kind,
				  .phase = phase,
				  .t_ns = t_ns,
				  .start_ns = start_ns,
				  .detail = detail,
				  .vehicle = "car"};
}

static void
test_ldb_schema_from_empty_file(void)
{
	const char *p = db_path();
	char v[256];
	int fd = open(p, O_CREAT | O_WRONLY, 0600); /* an empty file: version 0 */
	CHECK(fd >= 0);
	close(fd);
	struct ldb *db = open_w(p);
	int ver = -1;
	CHECK(ldb_user_version(db, &ver) == 0);
	CHECK_INT(ver, ==, LDB_SCHEMA_VERSION);
	ldb_close(db);
	CHECK(row(p, "PRAGMA journal_mode", v, sizeof(v)) == 0);
	CHECK_STR(v, "wal");
	CHECK(row(p, "SELECT group_concat(name) FROM pragma_table_info('session')", v, sizeof(v)) ==
	      0);
	CHECK_STR(v, "kind,start_ns,end_ns,phase,vehicle,detail,updated_ns,t_ns");
	CHECK(row(p, "SELECT name FROM sqlite_master WHERE type='index' AND name='session_end'", v,
		  sizeof(v)) == 0);
	CHECK(row(p, "SELECT group_concat(name) FROM pragma_table_info('feed')", v, sizeof(v)) ==
	      0);
	CHECK_STR(v, "name,gen,seq");
	struct stat st;
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == LDB_MODE);
	/* opened again: nothing migrates twice */
	db = open_w(p);
	ldb_close(db);
}

static void
test_ldb_newer_schema_refused(void)
{
	const char *p = db_path();
	struct ldb *db = open_w(p);
	char err[512];
	ldb_close(db);
	sqlite3 *s;
	CHECK(sqlite3_open(p, &s) == SQLITE_OK);
	CHECK(sqlite3_exec(s, "PRAGMA user_version = 7", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(s);
	CHECK(ldb_open_writer(&db, p, err, sizeof(err)) == -1 && db == NULL);
	CHECK(strstr(err, "schema version 7 is newer") != NULL);
	CHECK(ldb_open_reader(&db, p, err, sizeof(err)) == -1);
	CHECK(strstr(err, "newer") != NULL);
}

static void
test_ldb_reader_without_file(void)
{
	struct ldb *db;
	char err[512], p[4200];
	snprintf(p, sizeof(p), "%s/none.db", t_tmpdir());
	CHECK_INT(ldb_open_reader(&db, p, err, sizeof(err)), ==, LDB_ENOENT);
	CHECK(access(p, F_OK) < 0); /* a reader never makes it */
}

static void
test_ldb_upsert_phase_rules(void)
{
	const char *p = db_path();
	struct ldb *db = open_w(p);
	char v[512];
	const char *d1 = "{\"kind\":\"trip\",\"start\":100.5,\"end\":160.25,\"distance_km\":1}";
	const char *d2 = "{\"kind\":\"trip\",\"start\":100.5,\"end\":220,\"distance_km\":2}";
	const char *d3 = "{\"kind\":\"trip\",\"start\":100.5,\"end\":230,\"distance_km\":3}";
	int64_t s0 = 100500000000LL;
	struct ldb_event start = ev("trip", "start", 100 * NSEC_PER_SEC, s0, d1);
	struct ldb_event upd = ev("trip", "update", 160 * NSEC_PER_SEC, s0, d1);
	struct ldb_event upd2 = ev("trip", "update", 220 * NSEC_PER_SEC, s0, d2);
	struct ldb_event end = ev("trip", "end", 530 * NSEC_PER_SEC, s0, d3);

	CHECK_INT(ldb_upsert(db, &start, 1), ==, LDB_INSERTED);
	CHECK_INT(ldb_upsert(db, &upd2, 2), ==, LDB_REPLACED);
	CHECK_INT(ldb_upsert(db, &upd, 3), ==, LDB_LATE);	/* an older update */
	CHECK_INT(ldb_upsert(db, &upd2, 4), ==, LDB_DUPLICATE); /* delivered twice */
	CHECK_INT(ldb_upsert(db, &end, 5), ==, LDB_REPLACED);
	CHECK_INT(ldb_upsert(db, &end, 6), ==, LDB_DUPLICATE);
	CHECK_INT(ldb_upsert(db, &start, 7), ==, LDB_LATE); /* an end is never replaced */
	/* the same phase emitted later wins (a restored worker's re-sent end) */
	struct ldb_event end2 = ev("trip", "end", 531 * NSEC_PER_SEC, s0, d2);
	CHECK_INT(ldb_upsert(db, &end2, 8), ==, LDB_REPLACED);
	ldb_close(db);
	CHECK(row(p,
		  "SELECT phase || ' ' || end_ns || ' ' || updated_ns || ' ' || t_ns || ' ' || "
		  "vehicle || ' ' || detail FROM session",
		  v, sizeof(v)) == 0);
	char want[512];
	snprintf(want, sizeof(want), "end 220000000000 8 531000000000 car %s", d2);
	CHECK_STR(v, want);
	/* kinds are separate identities */
	db = open_w(p);
	struct ldb_event ch = ev("charge", "start", 100 * NSEC_PER_SEC, s0, d1);
	CHECK_INT(ldb_upsert(db, &ch, 9), ==, LDB_INSERTED);
	int64_t n = 0;
	CHECK(ldb_session_count(db, &n) == 0 && n == 2);
	ldb_close(db);
	CHECK(row(p, "SELECT end_ns FROM session WHERE kind='charge'", v, sizeof(v)) == 0);
	CHECK_STR(v, "160250000000");
}

static void
test_ldb_invalid_events(void)
{
	struct ldb *db = open_w(db_path());
	const char *ok = "{\"end\":5}";
	struct ldb_event bad[] = {
	    ev("holiday", "end", 1, 1, ok),
	    ev("trip", "finish", 1, 1, ok),
	    ev("trip", "end", 1, 1, NULL),
	    ev("trip", "end", 1, 1, "{\"end\":"),	   /* not JSON */
	    ev("trip", "end", 1, 1, "[1,2]"),		   /* not an object */
	    ev("trip", "end", 1, 1, "{\"start\":1}"),	   /* no end */
	    ev("trip", "end", 1, 1, "{\"end\":\"noon\"}"), /* not a number */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(ldb_upsert(db, &bad[i], 1), ==, LDB_INVALID);
	int64_t n = -1;
	CHECK(ldb_session_count(db, &n) == 0 && n == 0);
	ldb_close(db);
}

/* The point and the upserts commit together or not at all. */
static void
test_ldb_feed_point_in_the_transaction(void)
{
	const char *p = db_path();
	struct ldb *db = open_w(p);
	uint64_t g = 0, s = 0;
	struct ldb_event e = ev("park", "start", 10, 10, "{\"end\":1}");

	CHECK_INT(ldb_feed_get(db, "journal", &g, &s), ==, 0);
	CHECK(ldb_begin(db) == 0);
	CHECK(ldb_upsert(db, &e, 1) == LDB_INSERTED);
	CHECK(ldb_feed_put(db, "journal", 0xfedcba9876543210ULL, 42) == 0);
	ldb_close(db); /* a kill before the commit: nothing of it stays */
	db = open_w(p);
	int64_t n = -1;
	CHECK_INT(ldb_feed_get(db, "journal", &g, &s), ==, 0);
	CHECK(ldb_session_count(db, &n) == 0 && n == 0);
	CHECK(ldb_begin(db) == 0);
	CHECK(ldb_upsert(db, &e, 1) == LDB_INSERTED);
	CHECK(ldb_feed_put(db, "journal", 0xfedcba9876543210ULL, 42) == 0);
	CHECK(ldb_commit(db) == 0);
	ldb_close(db);
	db = open_w(p);
	CHECK_INT(ldb_feed_get(db, "journal", &g, &s), ==, 1);
	CHECK(g == 0xfedcba9876543210ULL && s == 42); /* all 64 bits of the generation */
	CHECK(ldb_session_count(db, &n) == 0 && n == 1);
	ldb_close(db);
}

static void
test_ldb_one_writer(void)
{
	const char *p = db_path();
	struct ldb *a = open_w(p), *b, *r;
	char err[512], want[64];
	CHECK_INT(ldb_open_writer(&b, p, err, sizeof(err)), ==, LDB_ELOCKED);
	snprintf(want, sizeof(want), "written by process %ld", (long)getpid());
	CHECK(strstr(err, want) != NULL);
	CHECK(ldb_open_reader(&r, p, err, sizeof(err)) == 0); /* readers are welcome */
	ldb_close(r);
	ldb_close(a);
	b = open_w(p); /* the lock went with the writer */
	ldb_close(b);
}

static void
test_ldb_corrupt_file(void)
{
	const char *p = db_path();
	char err[512], junk[8192];
	struct ldb *db;
	memset(junk, 'x', sizeof(junk));
	int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	CHECK(fd >= 0 && write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
	close(fd);
	CHECK(ldb_open_writer(&db, p, err, sizeof(err)) == -1 && db == NULL);
	CHECK(strstr(err, "not a database") != NULL && strstr(err, "damaged") != NULL);
	/* left as it was, for the owner to repair */
	struct stat st;
	CHECK(stat(p, &st) == 0 && st.st_size == (off_t)sizeof(junk));
	/* and the lock is free again: a retry may open it once it is fixed */
	unlink(p);
	db = open_w(p);
	ldb_close(db);
}

static void
test_ldb_symlink_refused(void)
{
	char target[4200], link[4200], err[512];
	struct ldb *db;
	snprintf(target, sizeof(target), "%s/elsewhere.db", t_tmpdir());
	snprintf(link, sizeof(link), "%s/link.db", t_tmpdir());
	CHECK(symlink(target, link) == 0);
	CHECK(ldb_open_writer(&db, link, err, sizeof(err)) == -1);
	CHECK(access(target, F_OK) < 0);
}

/* The disk fills up inside a transaction (the file size limit stands in for
 * ENOSPC): the write fails with an error, nothing of the transaction stays,
 * what was committed before is whole, and the next transaction works. */
static void
test_ldb_write_failure_keeps_the_last_commit(void)
{
	const char *p = db_path();
	struct ldb *db = open_w(p);
	struct ldb_event e = ev("trip", "end", 1, 1, "{\"end\":1}");
	struct rlimit old, lim;
	size_t big = 64 * 1024;
	char *detail = malloc(big + 16);
	int64_t n = -1;
	int failed = 0;

	CHECK(detail != NULL);
	CHECK(ldb_upsert(db, &e, 1) == LDB_INSERTED); /* autocommit: durable */
	CHECK(ldb_feed_put(db, "journal", 7, 70) == 0);
	snprintf(detail, 16, "{\"end\":2,\"x\":\"");
	memset(detail + strlen(detail), 'y', big - 32);
	strcpy(detail + big - 32 + 14, "\"}");
	signal(SIGXFSZ, SIG_IGN);
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	lim = old;
	lim.rlim_cur = 256 * 1024;
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	CHECK(ldb_begin(db) == 0);
	for (int i = 0; i < 64 && !failed; i++) {
		struct ldb_event b = ev("park", "end", 10 + i, 10 + i, detail);
		failed = ldb_upsert(db, &b, 1) < 0;
	}
	if (!failed)
		failed = ldb_feed_put(db, "journal", 8, 80) < 0 || ldb_commit(db) < 0;
	CHECK(failed);
	CHECK(ldb_errcode(db) != 0 && ldb_errmsg(db)[0] != '\0');
	ldb_rollback(db);
	ldb_close(db);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	db = open_w(p);
	uint64_t g, s;
	CHECK(ldb_session_count(db, &n) == 0 && n == 1);
	CHECK(ldb_feed_get(db, "journal", &g, &s) == 1 && g == 7 && s == 70);
	struct ldb_event c = ev("charge", "end", 3, 3, "{\"end\":3}");
	CHECK(ldb_upsert(db, &c, 1) == LDB_INSERTED);
	ldb_close(db);
	free(detail);
}

static bool
collect(void *arg, const struct ldb_daily *d)
{
	struct ldb_daily *out = arg;
	*out = *d;
	return false;
}

static void
test_ldb_each_daily_newest_first(void)
{
	struct ldb *db = open_w(db_path());
	struct ldb_event a = ev("battery_daily", "end", 1, 1000,
				"{\"date\":\"2026-01-01\",\"end\":2,\"soh_pct\":91.5}");
	struct ldb_event b = ev("battery_daily", "end", 2, 2000,
				"{\"date\":\"2026-01-02\",\"end\":3,\"soh_pct\":91,\"gids_full\":"
				"700,\"capacity_ah\":150.5}");
	CHECK(ldb_upsert(db, &a, 1) == LDB_INSERTED && ldb_upsert(db, &b, 1) == LDB_INSERTED);
	struct ldb_daily d;
	CHECK(ldb_each_daily(db, 30, collect, &d) == 0);
	CHECK_STR(d.date, "2026-01-02");
	CHECK(d.start_ns == 2000 && d.soh_pct == 91 && d.gids_full == 700);
	CHECK(d.capacity_ah == 150.5 && isnan(d.hx_pct) && isnan(d.ah));
	ldb_close(db);
}

static void
test_soh_sources_and_alert_text(void)
{
	/* a 62 kWh pack: 700 GIDs at 91 % is 769 new, nearest 775 */
	struct ldb_daily d = {.date = "2026-01-02",
			      .soh_pct = 91,
			      .gids_full = 700,
			      .capacity_ah = 150.5,
			      .hx_pct = NAN,
			      .ah = NAN};
	struct soh_result r;
	char text[320];
	CHECK(soh_sources(&d, &r) == 0);
	CHECK_STR(r.pack_name, "62 kWh");
	CHECK_INT(r.n, ==, 2);
	CHECK_DBL(r.spread, 91 - 150.5 / 176 * 100, 1e-9); /* 85.5 % measured */
	soh_text(&d, &r, 5, text, sizeof(text));
	CHECK_STR(text, "battery 2026-01-02: the SOH sources differ by 5.5 points (more than 5): "
			"soh_pct 91.0 %, capacity_ah 85.5 % (Ah of a new 62 kWh pack: 176.0)");
	/* Hx and AHr count too; a 24 kWh pack at 75 % (211 GIDs) */
	d = (struct ldb_daily){
	    .soh_pct = 75, .gids_full = 211, .hx_pct = 70.2, .ah = 50, .capacity_ah = NAN};
	CHECK(soh_sources(&d, &r) == 0);
	CHECK_STR(r.pack_name, "24 kWh");
	CHECK_INT(r.n, ==, 3);
	CHECK_DBL(r.spread, 50 / 66.2 * 100 - 70.2, 1e-9); /* AHr 75.5 %, Hx 70.2 % */
	/* one source alone is no comparison; without gids_full no Ah source */
	d = (struct ldb_daily){
	    .soh_pct = 75, .gids_full = NAN, .hx_pct = NAN, .ah = 50, .capacity_ah = 49};
	CHECK(soh_sources(&d, &r) == -1);
	d.hx_pct = 80;
	CHECK(soh_sources(&d, &r) == 0 && r.n == 2 && r.pack < 0);
}

T_MAIN(T(test_ldb_schema_from_empty_file), T(test_ldb_newer_schema_refused),
       T(test_ldb_reader_without_file), T(test_ldb_upsert_phase_rules), T(test_ldb_invalid_events),
       T(test_ldb_feed_point_in_the_transaction), T(test_ldb_one_writer), T(test_ldb_corrupt_file),
       T(test_ldb_symlink_refused), T(test_ldb_write_failure_keeps_the_last_commit),
       T(test_ldb_each_daily_newest_first), T(test_soh_sources_and_alert_text))
