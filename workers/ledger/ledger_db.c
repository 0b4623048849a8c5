/*
 * The ledger database (see ledger_db.h): schema and migrations, the writer
 * lock, the upsert rule and the feed point. Statements are prepared once
 * per connection.
 */
#include "ledger_db.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "util.h"

/* Migrations: migrations[v] takes a database of user_version v to v + 1,
 * in one transaction. Only ever appended. */
static const char *const migrations[LDB_SCHEMA_VERSION] = {
    /* 0 -> 1: the schema of LEDGER-SCHEMA version 1 (t_ns: the stored
     * event's emission time, the upsert's tie-break at an equal phase) */
    "CREATE TABLE session ("
    " kind TEXT NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,"
    " phase TEXT NOT NULL, vehicle TEXT NOT NULL, detail TEXT NOT NULL,"
    " updated_ns INTEGER NOT NULL, t_ns INTEGER NOT NULL,"
    " PRIMARY KEY (kind, start_ns)) WITHOUT ROWID;"
    "CREATE INDEX session_end ON session(kind, end_ns);"
    "CREATE TABLE feed (name TEXT PRIMARY KEY, gen INTEGER NOT NULL, seq INTEGER NOT NULL);",
};

enum { ST_GET, ST_END, ST_PUT, ST_FEED_GET, ST_FEED_PUT, ST_COUNT };

static const char *const stmt_sql[ST_COUNT] = {
    [ST_GET] = "SELECT phase, t_ns FROM session WHERE kind = ?1 AND start_ns = ?2",
    [ST_END] = "SELECT CASE WHEN json_valid(?1) THEN json_type(?1) END,"
	       " CASE WHEN json_valid(?1) THEN json_extract(?1, '$.end') END",
    [ST_PUT] = "INSERT OR REPLACE INTO session (kind, start_ns, end_ns, phase, vehicle, detail,"
	       " updated_ns, t_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_FEED_GET] = "SELECT gen, seq FROM feed WHERE name = ?1",
    [ST_FEED_PUT] = "INSERT OR REPLACE INTO feed (name, gen, seq) VALUES (?1, ?2, ?3)",
};

struct ldb {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	int lock_fd; /* the writer's flock, -1 for a reader */
	bool in_tx;
	int code;
	char msg[256];
};

static int
fail(struct ldb *l, const char *what)
{
	l->code = sqlite3_extended_errcode(l->db);
	snprintf(l->msg, sizeof(l->msg), "%s: %s", what, sqlite3_errmsg(l->db));
	return -1;
}

static int
exec(struct ldb *l, const char *sql)
{
	char *e = NULL;
	if (sqlite3_exec(l->db, sql, NULL, NULL, &e) == SQLITE_OK)
		return 0;
	l->code = sqlite3_extended_errcode(l->db);
	snprintf(l->msg, sizeof(l->msg), "%s", e ? e : sqlite3_errstr(l->code));
	sqlite3_free(e);
	return -1;
}

static sqlite3_stmt *
stmt(struct ldb *l, int k)
{
	if (l->st[k] == NULL &&
	    sqlite3_prepare_v3(l->db, stmt_sql[k], -1, SQLITE_PREPARE_PERSISTENT, &l->st[k],
			       NULL) != SQLITE_OK) {
		fail(l, "prepare");
		return NULL;
	}
	sqlite3_reset(l->st[k]);
	sqlite3_clear_bindings(l->st[k]);
	return l->st[k];
}

/* ---- opening ---- */

static int
take_lock(struct ldb *l, const char *path, char *err, size_t errlen)
{
	char lp[4096], text[32] = "";
	snprintf(lp, sizeof(lp), "%s.lock", path);
	l->lock_fd = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, LDB_MODE);
	if (l->lock_fd < 0) {
		snprintf(err, errlen, "%s: %s", lp, strerror(errno));
		return -1;
	}
	if (flock(l->lock_fd, LOCK_EX | LOCK_NB) == 0) {
		int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
		if (ftruncate(l->lock_fd, 0) < 0 || pwrite(l->lock_fd, text, (size_t)n, 0) != n) {
			/* the pid is only for the message of whoever waits */
		}
		return 0;
	}
	int e = errno;
	ssize_t n = pread(l->lock_fd, text, sizeof(text) - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	text[strcspn(text, "\n")] = '\0';
	if (e == EWOULDBLOCK) {
		snprintf(err, errlen,
			 "%s is being written by process %s (only one process writes "
			 "the ledger)",
			 path, text[0] ? text : "?");
		return LDB_ELOCKED;
	}
	snprintf(err, errlen, "%s: lock: %s", lp, strerror(e));
	return -1;
}

static int
migrate(struct ldb *l)
{
	int v;
	if (ldb_user_version(l, &v) < 0)
		return -1;
	if (v > LDB_SCHEMA_VERSION) {
		snprintf(l->msg, sizeof(l->msg),
			 "schema version %d is newer than this leafmon knows (%d): upgrade leafmon",
			 v, LDB_SCHEMA_VERSION);
		return -1;
	}
	for (; v < LDB_SCHEMA_VERSION; v++) {
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (exec(l, "BEGIN IMMEDIATE") < 0)
			return -1;
		if (exec(l, migrations[v]) < 0 || exec(l, pragma) < 0 || exec(l, "COMMIT") < 0) {
			char m[sizeof(l->msg)];
			snprintf(m, sizeof(m), "%s", l->msg);
			exec(l, "ROLLBACK");
			snprintf(l->msg, sizeof(l->msg), "migration to version %d: %.200s", v + 1,
				 m);
			return -1;
		}
	}
	return 0;
}

static int
open_db(struct ldb *l, const char *path, int flags)
{
	if (sqlite3_open_v2(path, &l->db, flags | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		l->code = l->db ? sqlite3_extended_errcode(l->db) : SQLITE_NOMEM;
		snprintf(l->msg, sizeof(l->msg), "%s", l->db ? sqlite3_errmsg(l->db) : "no memory");
		return -1;
	}
	sqlite3_extended_result_codes(l->db, 1);
	sqlite3_busy_timeout(l->db, 1000);
	return 0;
}

static int
writer_setup(struct ldb *l, const char *path)
{
	sqlite3_stmt *s;
	int ok;

	if (open_db(l, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) < 0)
		return -1;
	if (chmod(path, LDB_MODE) < 0) { /* before the WAL: it takes the file's mode */
		snprintf(l->msg, sizeof(l->msg), "chmod: %s", strerror(errno));
		return -1;
	}
	if (sqlite3_prepare_v2(l->db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK)
		return fail(l, "journal_mode");
	ok = sqlite3_step(s) == SQLITE_ROW &&
	     strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
	if (!ok)
		fail(l, "journal_mode WAL");
	sqlite3_finalize(s);
	if (!ok || exec(l, "PRAGMA synchronous = FULL") < 0)
		return -1;
	return migrate(l);
}

static void
describe(char *err, size_t errlen, const char *path, const struct ldb *l)
{
	int prim = l->code & 0xff;
	const char *hint =
	    prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT
		? " (the file is damaged: move it aside, or repair it with "
		  "sqlite3's .recover, and the ledger starts again from the journal)"
	    : prim == SQLITE_FULL ? " (the disk is full)"
	    : prim == SQLITE_READONLY || prim == SQLITE_CANTOPEN || prim == SQLITE_PERM
		? " (not writable)"
		: "";
	snprintf(err, errlen, "%s: %s%s", path, l->msg, hint);
}

int
ldb_open_writer(struct ldb **out, const char *path, char *err, size_t errlen)
{
	struct ldb *l = calloc(1, sizeof(*l));
	int rc;

	*out = NULL;
	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((rc = take_lock(l, path, err, errlen)) < 0) {
		if (l->lock_fd >= 0)
			close(l->lock_fd);
		free(l);
		return rc;
	}
	if (writer_setup(l, path) < 0) {
		describe(err, errlen, path, l);
		ldb_close(l);
		return -1;
	}
	*out = l;
	return 0;
}

int
ldb_open_reader(struct ldb **out, const char *path, char *err, size_t errlen)
{
	struct ldb *l = calloc(1, sizeof(*l));
	struct stat st;
	int v;

	*out = NULL;
	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l->lock_fd = -1;
	if (stat(path, &st) < 0 && errno == ENOENT) {
		free(l);
		snprintf(err, errlen, "%s: no ledger yet", path);
		return LDB_ENOENT;
	}
	if (open_db(l, path, SQLITE_OPEN_READONLY) < 0 || ldb_user_version(l, &v) < 0) {
		describe(err, errlen, path, l);
		ldb_close(l);
		return -1;
	}
	if (v == 0 || v > LDB_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 v == 0 ? "%s: no ledger yet"
				: "%s: schema version %d is newer than this leafmon knows (%d)",
			 path, v, LDB_SCHEMA_VERSION);
		ldb_close(l);
		return v == 0 ? LDB_ENOENT : -1;
	}
	*out = l;
	return 0;
}

void
ldb_close(struct ldb *l)
{
	if (l == NULL)
		return;
	for (int k = 0; k < ST_COUNT; k++)
		sqlite3_finalize(l->st[k]);
	if (l->in_tx)
		exec(l, "ROLLBACK");
	sqlite3_close(l->db);
	if (l->lock_fd >= 0)
		close(l->lock_fd); /* releases the flock */
	free(l);
}

int
ldb_user_version(struct ldb *l, int *version)
{
	sqlite3_stmt *s;
	int rc;
	if (sqlite3_prepare_v2(l->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return fail(l, "user_version");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(s, 0);
	else
		fail(l, "user_version");
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* ---- transactions ---- */

int
ldb_begin(struct ldb *l)
{
	if (exec(l, "BEGIN IMMEDIATE") < 0)
		return -1;
	l->in_tx = true;
	return 0;
}

int
ldb_commit(struct ldb *l)
{
	if (exec(l, "COMMIT") < 0) {
		ldb_rollback(l);
		return -1;
	}
	l->in_tx = false;
	return 0;
}

void
ldb_rollback(struct ldb *l)
{
	if (l->in_tx && sqlite3_get_autocommit(l->db) == 0) {
		int code = l->code;
		char msg[sizeof(l->msg)];
		snprintf(msg, sizeof(msg), "%s", l->msg);
		exec(l, "ROLLBACK"); /* keep the error that led here */
		l->code = code;
		snprintf(l->msg, sizeof(l->msg), "%s", msg);
	}
	l->in_tx = false;
}

bool
ldb_in_tx(const struct ldb *l)
{
	return l->in_tx;
}

/* ---- the upsert ---- */

static int
ldb_phase_rank(const char *phase)
{
	static const char *const names[] = {"start", "update", "end"};
	for (int i = 0; phase != NULL && i < (int)ARRAY_LEN(names); i++)
		if (strcmp(phase, names[i]) == 0)
			return i;
	return -1;
}

static bool
kind_known(const char *kind)
{
	static const char *const kinds[] = {"trip", "charge", "park", "battery_daily"};
	for (size_t i = 0; kind != NULL && i < ARRAY_LEN(kinds); i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return false;
}

/* The detail's "end" (Unix s) in ns: 1, 0 when the detail is not an object
 * with a numeric "end", -1 on a database error. */
static int
detail_end(struct ldb *l, const char *detail, int64_t *end_ns)
{
	sqlite3_stmt *s = stmt(l, ST_END);
	const unsigned char *type;
	int t;
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, detail, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_ROW)
		return fail(l, "detail");
	type = sqlite3_column_text(s, 0);
	t = sqlite3_column_type(s, 1);
	if (type == NULL || strcmp((const char *)type, "object") != 0 ||
	    (t != SQLITE_FLOAT && t != SQLITE_INTEGER))
		return 0;
	double end = sqlite3_column_double(s, 1);
	if (!isfinite(end) || fabs(end) > 9e9)
		return 0;
	/* to the microsecond first: a double holds no nanoseconds of 2024 */
	*end_ns = llround(end * 1e6) * 1000;
	return 1;
}

/* The stored phase rank and t_ns: 1, 0 when absent, -1 on error. */
static int
stored(struct ldb *l, const struct ldb_event *e, int *rank, int64_t *t_ns)
{
	sqlite3_stmt *s = stmt(l, ST_GET);
	int rc;
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, e->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, e->start_ns);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return fail(l, "select");
	*rank = ldb_phase_rank((const char *)sqlite3_column_text(s, 0));
	*t_ns = sqlite3_column_int64(s, 1);
	return 1;
}

static int
put(struct ldb *l, const struct ldb_event *e, int64_t end_ns, int64_t now_ns)
{
	sqlite3_stmt *s = stmt(l, ST_PUT);
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, e->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, e->start_ns);
	sqlite3_bind_int64(s, 3, end_ns);
	sqlite3_bind_text(s, 4, e->phase, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, e->vehicle ? e->vehicle : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, e->detail, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, now_ns);
	sqlite3_bind_int64(s, 8, e->t_ns);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : fail(l, "upsert");
}

int
ldb_upsert(struct ldb *l, const struct ldb_event *e, int64_t now_ns)
{
	int rank = ldb_phase_rank(e->phase), old_rank = -1, rc;
	int64_t end_ns = 0, old_t = 0;

	if (rank < 0 || !kind_known(e->kind) || e->detail == NULL)
		return LDB_INVALID;
	if ((rc = detail_end(l, e->detail, &end_ns)) <= 0)
		return rc < 0 ? -1 : LDB_INVALID;
	if ((rc = stored(l, e, &old_rank, &old_t)) < 0)
		return -1;
	if (rc == 1) {
		if (rank == old_rank && e->t_ns == old_t)
			return LDB_DUPLICATE;
		if (rank < old_rank || (rank == old_rank && e->t_ns < old_t))
			return LDB_LATE;
	}
	if (put(l, e, end_ns, now_ns) < 0)
		return -1;
	return rc == 1 ? LDB_REPLACED : LDB_INSERTED;
}

/* ---- the feed point ---- */

int
ldb_feed_get(struct ldb *l, const char *name, uint64_t *gen, uint64_t *seq)
{
	sqlite3_stmt *s = stmt(l, ST_FEED_GET);
	int rc;
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return fail(l, "feed");
	/* stored as signed 64-bit: the generation is a random 64-bit id */
	*gen = (uint64_t)sqlite3_column_int64(s, 0);
	*seq = (uint64_t)sqlite3_column_int64(s, 1);
	return 1;
}

int
ldb_feed_put(struct ldb *l, const char *name, uint64_t gen, uint64_t seq)
{
	sqlite3_stmt *s = stmt(l, ST_FEED_PUT);
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)gen);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)seq);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : fail(l, "feed");
}

/* ---- figures ---- */

int
ldb_session_count(struct ldb *l, int64_t *n)
{
	sqlite3_stmt *s;
	int rc;
	if (sqlite3_prepare_v2(l->db, "SELECT count(*) FROM session", -1, &s, NULL) != SQLITE_OK)
		return fail(l, "count");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(s, 0);
	else
		fail(l, "count");
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

int64_t
ldb_disk_bytes(const char *path)
{
	char wal[4096];
	struct stat st;
	int64_t n = 0;
	if (stat(path, &st) == 0)
		n += st.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &st) == 0)
		n += st.st_size;
	return n;
}

int
ldb_errcode(const struct ldb *l)
{
	return l->code;
}

const char *
ldb_errmsg(const struct ldb *l)
{
	return l->msg;
}

static double
num_or_nan(sqlite3_stmt *s, int col)
{
	int t = sqlite3_column_type(s, col);
	return t == SQLITE_FLOAT || t == SQLITE_INTEGER ? sqlite3_column_double(s, col) : NAN;
}

int
ldb_each_daily(struct ldb *l, int limit, ldb_daily_fn *fn, void *arg)
{
	static const char sql[] =
	    "SELECT start_ns, json_extract(detail, '$.date'), json_extract(detail, '$.soh_pct'),"
	    " json_extract(detail, '$.hx_pct'), json_extract(detail, '$.ah'),"
	    " json_extract(detail, '$.capacity_ah'), json_extract(detail, '$.gids_full')"
	    " FROM session WHERE kind = 'battery_daily' AND json_valid(detail)"
	    " ORDER BY start_ns DESC LIMIT ?1";
	sqlite3_stmt *s;
	int rc;
	if (sqlite3_prepare_v2(l->db, sql, -1, &s, NULL) != SQLITE_OK)
		return fail(l, "battery_daily");
	sqlite3_bind_int(s, 1, limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct ldb_daily d = {.start_ns = sqlite3_column_int64(s, 0)};
		const unsigned char *date = sqlite3_column_text(s, 1);
		snprintf(d.date, sizeof(d.date), "%s", date ? (const char *)date : "");
		d.soh_pct = num_or_nan(s, 2);
		d.hx_pct = num_or_nan(s, 3);
		d.ah = num_or_nan(s, 4);
		d.capacity_ah = num_or_nan(s, 5);
		d.gids_full = num_or_nan(s, 6);
		if (!fn(arg, &d)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		fail(l, "battery_daily");
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}
