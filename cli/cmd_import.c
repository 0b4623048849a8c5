/*
 * leafmon import [--start T] FILE...: a recording's sessions into the
 * ledger, with the log's own times. Each file is decoded as `leafmon decode
 * --sessions` does (the same module, the config's [ledger] and [tariff]) and
 * its sessions' ends are upserted in one transaction, so importing twice
 * adds nothing. The ledger has one writer: while the ledger worker holds
 * the database, import refuses and says how to let it in (docs/DESIGN.md
 * "Ledger").
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "decode_run.h"
#include "ledger_db.h"
#include "lp.h"
#include "util.h"
#include "worker.h"

#define OLDEST_NS (946684800LL * NSEC_PER_SEC) /* 2000-01-01: older is a relative log */

struct import {
	struct ldb *db;
	const char *vehicle;
	bool failed;   /* a database error: the file's transaction is undone */
	bool relative; /* a session before 2000: the log has no dates of its own */
	unsigned n[LDB_INVALID + 1];
	unsigned lost; /* out of memory for a session's JSON */
};

static void
take(void *arg, const struct session_event *e, const char *json)
{
	struct import *im = arg;
	if (im->failed)
		return;
	if (json == NULL) {
		im->lost++;
		return;
	}
	if (e->s.start_ns < OLDEST_NS)
		im->relative = true;
	struct ldb_event le = {.kind = session_kind_name(e->s.kind),
			       .phase = "end",
			       .t_ns = e->t_ns,
			       .start_ns = e->s.start_ns,
			       .detail = json,
			       .vehicle = im->vehicle};
	int r = ldb_upsert(im->db, &le, now_real_ns());
	if (r < 0)
		im->failed = true;
	else
		im->n[r]++;
}

static void
report(const char *path, const struct import *im)
{
	unsigned total = 0;
	for (int i = 0; i <= LDB_INVALID; i++)
		total += im->n[i];
	printf("%s: %u sessions: %u new, %u replaced, %u already there, %u older than the "
	       "ledger's\n",
	       path, total, im->n[LDB_INSERTED], im->n[LDB_REPLACED], im->n[LDB_DUPLICATE],
	       im->n[LDB_LATE]);
}

/* One file, one transaction: 0, or -1 with nothing of it kept. */
static int
import_file(struct cli *c, struct import *im, const char *path, int64_t start_ns, bool have_start)
{
	struct decode_opts o;
	cli_decode_opts(c, &o);
	o.samples = false;
	o.sessions = true;
	o.start_ns = start_ns;
	o.session_fn = take;
	o.session_arg = im;
	memset(im->n, 0, sizeof(im->n));
	im->failed = im->relative = false;
	im->lost = 0;
	if (ldb_begin(im->db) < 0) {
		fprintf(stderr, "leafmon import: %s\n", ldb_errmsg(im->db));
		return -1;
	}
	int rc = decode_file(path, &o, stdout, stderr);
	const char *why = rc < 0       ? NULL
			  : im->failed ? ldb_errmsg(im->db)
			  : im->lost   ? "out of memory"
			  : im->relative && !have_start
			      ? "the log has no dates of its own: give --start T (Unix seconds)"
			      : NULL;
	if (rc < 0 || why != NULL) {
		if (why != NULL)
			fprintf(stderr, "leafmon import: %s: %s; nothing imported\n", path, why);
		ldb_rollback(im->db);
		return -1;
	}
	if (ldb_commit(im->db) < 0) {
		fprintf(stderr, "leafmon import: %s: %s; nothing imported\n", path,
			ldb_errmsg(im->db));
		return -1;
	}
	report(path, im);
	return 0;
}

static int
open_ledger(struct cli *c, struct ldb **db, char *path, size_t len)
{
	char err[1024];
	snprintf(path, len, "%s/%s", c->statedir, LDB_FILE);
	if (dir_make_trusted(c->statedir, RUNDIR_MODE, err, sizeof(err)) < 0) {
		fprintf(stderr, "leafmon import: %s\n", err);
		return -1;
	}
	int rc = ldb_open_writer(db, path, err, sizeof(err));
	if (rc == LDB_ELOCKED)
		fprintf(stderr,
			"leafmon import: %s.\nThe ledger worker writes it while leafmond runs: "
			"`leafmon stop ledger`, import, then `leafmon start ledger` (the worker "
			"misses nothing meanwhile: it goes on from the journal).\n",
			err);
	else if (rc < 0)
		fprintf(stderr, "leafmon import: %s\n", err);
	return rc < 0 ? -1 : 0;
}

int
cmd_import(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"start", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	struct import im = {0};
	char path[4096], host[128];
	double start = 0;
	bool have_start = false;
	int ch, failed = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
		if (ch != 't' || parse_double(optarg, &start) < 0 || start < 0 || start > 1e10) {
			fprintf(stderr, "usage: leafmon import [--start T] FILE...\n");
			return EXIT_USAGE;
		}
		have_start = true;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: leafmon import [--start T] FILE...\n");
		return EXIT_USAGE;
	}
	if (open_ledger(c, &im.db, path, sizeof(path)) < 0)
		return 1;
	im.vehicle = lp_vehicle(c->cfg.sup.vehicle, host, sizeof(host));
	for (int i = optind; i < argc; i++)
		failed +=
		    import_file(c, &im, argv[i], (int64_t)(start * 1e9 + 0.5), have_start) < 0;
	ldb_close(im.db);
	return failed ? 1 : 0;
}
