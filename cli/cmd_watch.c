/*
 * leafmon watch [SIGNAL...]: live values as the can worker publishes them.
 * On a terminal the table is redrawn in place; piped, one line per sample
 * (JSON with --json, the same shape as leafmon decode --json).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "journal.h"
#include "sampsub.h"
#include "signals.h"

static volatile sig_atomic_t watch_stop;

static void
on_int(int sig)
{
	watch_stop = 1;
}

static void
print_line(const Sample *m, const bool *want, bool json)
{
	char val[96];
	bool any = false;
	for (size_t i = 0; i < m->n_ids; i++)
		if (m->ids[i] < SIG_ID_MAX && want[m->ids[i]])
			any = true;
	if (!any)
		return;
	printf(json ? "{\"t\": %.6f" : "t=%.3f", (double)m->t_ns / 1e9);
	for (size_t i = 0; i < m->n_ids; i++) {
		const struct sig_info *si = sig_by_id(m->ids[i]);
		if (si == NULL || !want[si->id] || sig_format_json(si, m->values[i], val, sizeof(val)) < 0)
			continue;
		printf(json ? ", \"%s\": %s" : " %s=%s", si->name, val);
	}
	printf(json ? "}\n" : "\n");
	fflush(stdout);
}

static void
redraw(const double *vals, const bool *seen, const bool *want, int64_t t_ns, uint64_t seq)
{
	char val[96];
	printf("\033[H\033[J leafmon watch   sample %llu   t=%.3f   (Ctrl-C to quit)\n\n",
	       (unsigned long long)seq, (double)t_ns / 1e9);
	for (size_t i = 0; i < sig_count; i++) {
		const struct sig_info *si = &sig_table[i];
		if (!want[si->id] || !seen[si->id])
			continue;
		if (sig_format_json(si, vals[si->id], val, sizeof(val)) < 0)
			continue;
		printf(" %-32s %14s %s\n", si->name, val, si->unit);
	}
	fflush(stdout);
}

int
cmd_watch(struct cli *c, int argc, char **argv)
{
	bool want[SIG_ID_MAX] = {false}, seen[SIG_ID_MAX] = {false};
	double vals[SIG_ID_MAX] = {0};
	int nsel = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			c->json = true;
			continue;
		}
		const struct sig_info *si = sig_by_name(argv[i]);
		if (!sig_published(si)) {
			fprintf(stderr, "leafmon: unknown signal '%s'\n", argv[i]);
			return EXIT_USAGE;
		}
		want[si->id] = true;
		nsel++;
	}
	if (nsel == 0)
		for (size_t i = 0; i < sig_count; i++)
			want[sig_table[i].id] = sig_published(&sig_table[i]);

	struct sampsub *ss;
	if (sampsub_open(&ss, c->rundir, SAMPSUB_FROM_NOW, 0) < 0) {
		fprintf(stderr, "leafmon: cannot watch: no journal in %s (is leafmond running?)\n",
			c->rundir);
		return EXIT_NOT_RUNNING;
	}
	bool tty = isatty(STDOUT_FILENO) && !c->json;
	signal(SIGINT, on_int);
	signal(SIGTERM, on_int);
	signal(SIGPIPE, on_int);
	while (!watch_stop) {
		struct pollfd pfd = {.fd = sampsub_fd(ss), .events = POLLIN};
		if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
			break;
		sampsub_poll_journal(ss);
		Sample *m;
		while ((m = sampsub_next(ss)) != NULL && !watch_stop) {
			if (tty) {
				for (size_t i = 0; i < m->n_ids; i++)
					if (m->ids[i] < SIG_ID_MAX) {
						vals[m->ids[i]] = m->values[i];
						seen[m->ids[i]] = true;
					}
				redraw(vals, seen, want, m->t_ns, m->seq);
			} else {
				print_line(m, want, c->json);
			}
			sampsub_free(m);
		}
	}
	const struct sampsub_stats *st = sampsub_stats(ss);
	if (st->lost)
		fprintf(stderr, "leafmon: %llu samples were lost to this watcher\n",
			(unsigned long long)st->lost);
	sampsub_close(ss);
	return 0;
}
