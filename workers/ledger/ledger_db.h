/*
 * STATEDIR/ledger.db, the owner's record of trips, charges, parked periods
 * and battery_daily (docs/DESIGN.md "Ledger"): opening it (WAL, schema
 * version in user_version, forward migrations), the one writer's lock, the
 * upsert rule, and the durable feed point. The ledger worker and `leafmon
 * import` write through it; readers may link it for ldb_open_reader().
 */
#ifndef LEAFMON_LEDGER_DB_H
#define LEAFMON_LEDGER_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LDB_SCHEMA_VERSION 1
#define LDB_FILE "ledger.db"
#define LDB_MODE 0640 /* the leafmon group's CLI reads it */

struct ldb;

/* Open results beside 0 and -1 (err says why in both failure cases). */
#define LDB_ELOCKED (-2) /* another process holds the writer lock */
#define LDB_ENOENT (-3)	 /* reader: no ledger yet (not an error for a list) */

/*
 * The writer: takes PATH.lock (flock, exclusive, not waiting), opens or
 * creates PATH (never through a symlink), WAL, synchronous FULL, and
 * migrates to LDB_SCHEMA_VERSION. A newer schema than this code knows, a
 * file that is not a database, or a held lock fail with err set.
 */
int ldb_open_writer(struct ldb **out, const char *path, char *err, size_t errlen);
/* A reader: read-only, busy_timeout 1000 ms, a newer schema is an error. */
int ldb_open_reader(struct ldb **out, const char *path, char *err, size_t errlen);
void ldb_close(struct ldb *db);
int ldb_user_version(struct ldb *db, int *version);

/* One transaction (BEGIN IMMEDIATE .. COMMIT); rollback never fails loudly. */
int ldb_begin(struct ldb *db);
int ldb_commit(struct ldb *db);
void ldb_rollback(struct ldb *db);
bool ldb_in_tx(const struct ldb *db);

/* A session event as the ledger keeps it (proto Event's fields). */
struct ldb_event {
	const char *kind;   /* trip, charge, park, battery_daily */
	const char *phase;  /* start, update, end */
	int64_t t_ns;	    /* when it was emitted (frame time) */
	int64_t start_ns;   /* with kind, the identity */
	const char *detail; /* the session's JSON object, kept as it came */
	const char *vehicle;
};

enum ldb_result {
	LDB_INSERTED,  /* a session it did not have */
	LDB_REPLACED,  /* a later phase, or the same phase emitted later */
	LDB_DUPLICATE, /* the same phase and t_ns as stored: nothing changes */
	LDB_LATE,      /* an earlier phase, or the same one emitted earlier: ignored */
	LDB_INVALID,   /* unknown kind or phase, detail not an object with "end" */
};

/*
 * The upsert rule: by (kind, start_ns); phases order start < update < end;
 * at an equal phase the newer t_ns wins; an event delivered twice changes
 * nothing. Returns an enum ldb_result, or -1 on a database error (err).
 */
int ldb_upsert(struct ldb *db, const struct ldb_event *e, int64_t now_ns);

/* The feed's resume point: 1 and (gen, seq) when stored, 0 when not, -1 error. */
int ldb_feed_get(struct ldb *db, const char *name, uint64_t *gen, uint64_t *seq);
int ldb_feed_put(struct ldb *db, const char *name, uint64_t gen, uint64_t seq);

int ldb_session_count(struct ldb *db, int64_t *n);
/* The database's bytes on disk: the file and its WAL. */
int64_t ldb_disk_bytes(const char *path);
/* The last error: SQLite's extended code (0 none) and its message. */
int ldb_errcode(const struct ldb *db);
const char *ldb_errmsg(const struct ldb *db);

/* A battery_daily's SOH figures (json_extract of its detail; NAN absent). */
struct ldb_daily {
	int64_t start_ns;
	char date[16];
	double soh_pct, hx_pct, ah, capacity_ah, gids_full;
};
/* The newest battery_daily records, newest first, at most limit; fn
 * returns false to stop. 0 or -1. */
typedef bool ldb_daily_fn(void *arg, const struct ldb_daily *d);
int ldb_each_daily(struct ldb *db, int limit, ldb_daily_fn *fn, void *arg);

#endif
