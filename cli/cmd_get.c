/*
 * leafmon get / snapshot: read the shared-memory snapshot directly (no
 * socket, works while leafmond restarts).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canframe.h"
#include "cli.h"
#include "snap.h"
#include "snapjson.h"

static int
open_snap(const struct cli *c, struct snap **s)
{
	if (snap_open(s, c->rundir, false) == 0)
		return 0;
	if (errno == ENOENT)
		fprintf(stderr, "leafmon: no snapshot in %s: is leafmond running?\n", c->rundir);
	else
		fprintf(stderr, "leafmon: %s/state.shm: %s\n", c->rundir, strerror(errno));
	return -1;
}

static int
parse_args(struct cli *c, int argc, char **argv, const char **names, int *n)
{
	*n = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			c->json = true;
			continue;
		}
		const struct sig_info *si = sig_by_name(argv[i]);
		if (si == NULL || !sig_published(si)) {
			fprintf(stderr, "leafmon: unknown signal '%s'%s\n", argv[i],
				si ? " (provisional: not published)" : "");
			return -1;
		}
		names[(*n)++] = argv[i];
	}
	return 0;
}

int
cmd_get(struct cli *c, int argc, char **argv)
{
	const char *names[SIG_ID_MAX];
	int n;
	struct snap *s;
	if (argc > SIG_ID_MAX || parse_args(c, argc, argv, names, &n) < 0)
		return EXIT_USAGE;
	if (n == 0) {
		fprintf(stderr, "usage: leafmon get SIGNAL... [--json]\n");
		return EXIT_USAGE;
	}
	if (open_snap(c, &s) < 0)
		return EXIT_NOT_RUNNING;
	int missing = 0;
	if (c->json) {
		struct buf b;
		int busy;
		buf_init(&b);
		int got = snap_to_json(s, names, n, &b, &busy);
		printf("%s\n", buf_str(&b));
		buf_free(&b);
		missing = n - got;
	} else {
		for (int i = 0; i < n; i++) {
			const struct sig_info *si = sig_by_name(names[i]);
			struct snap_value v;
			char val[96];
			int rc = snap_read(s, si->id, &v);
			if (rc != 0 || sig_format_json(si, v.value, val, sizeof(val)) < 0) {
				printf("%s %s\n", si->name, rc == -EBUSY ? "busy" : "-");
				missing++;
				continue;
			}
			if (val[0] == '"') { /* enum labels print bare */
				memmove(val, val + 1, strlen(val));
				val[strlen(val) - 1] = '\0';
			}
			printf("%s %s%s%s%s\n", si->name, val, si->unit[0] ? " " : "", si->unit,
			       (v.flags & SNAP_STALE) ? " (stale)" : "");
		}
	}
	snap_close(s);
	return missing ? 1 : 0;
}

int
cmd_snapshot(struct cli *c, int argc, char **argv)
{
	const char *names[1];
	int n, busy;
	struct snap *s;
	if (parse_args(c, argc, argv, names, &n) < 0 || n != 0) {
		fprintf(stderr, "usage: leafmon snapshot [--json]\n");
		return EXIT_USAGE;
	}
	if (open_snap(c, &s) < 0)
		return EXIT_NOT_RUNNING;
	if (c->json) {
		struct buf b;
		buf_init(&b);
		snap_to_json(s, NULL, 0, &b, &busy);
		printf("%s\n", buf_str(&b));
		buf_free(&b);
	} else {
		int shown = 0;
		for (size_t i = 0; i < sig_count; i++) {
			const struct sig_info *si = &sig_table[i];
			struct snap_value v;
			char val[96];
			if (!sig_published(si) || snap_read(s, si->id, &v) != 0 ||
			    sig_format_json(si, v.value, val, sizeof(val)) < 0)
				continue;
			printf("%-32s %14s %-5s %s%s\n", si->name, val, si->unit,
			       can_bus_name(SNAP_BUS(v.flags)), (v.flags & SNAP_STALE) ? " stale" : "");
			shown++;
		}
		if (shown == 0)
			printf("no values yet (writer pid %d)\n", snap_writer_pid(s));
	}
	snap_close(s);
	return 0;
}
