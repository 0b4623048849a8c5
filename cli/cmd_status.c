/*
 * leafmon status | start | stop | restart | reload: talk to leafmond over
 * the control socket. Without leafmond: a clear message and exit 3.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "cli.h"
#include "status.h"

#define CONTROL_TIMEOUT_MS 5000

static int
not_running(const struct cli *c, int rv)
{
	if (rv == -NNG_ECONNREFUSED || rv == -NNG_ENOENT)
		fprintf(stderr,
			"leafmon: leafmond is not running (no control socket in %s).\n"
			"  Start it with: systemctl start leafmon   (or leafmond -c FILE)\n",
			c->rundir);
	else
		fprintf(stderr, "leafmon: control socket in %s: %s\n", c->rundir, nng_strerror(-rv));
	return EXIT_NOT_RUNNING;
}

static bool
want_json(struct cli *c, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--json") == 0)
			c->json = true;
	return c->json;
}

static void
fmt_age(char *buf, size_t len, double s)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
	else
		snprintf(buf, len, "%dd%02dh", (int)s / 86400, ((int)s % 86400) / 3600);
}

static void
fmt_bytes(char *buf, size_t len, double b)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	int u = 0;
	while (b >= 1000 && u < 4) {
		b /= 1000;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

static void
print_ledger(const WorkerStatus *w)
{
	const Ledger *l = w->ledger;
	char qb[32], sent[32], oldest[32], ago[32];
	time_t now = time(NULL);
	fmt_bytes(qb, sizeof(qb), (double)l->queued_bytes);
	fmt_bytes(sent, sizeof(sent), (double)l->sent_bytes_today);
	fmt_age(oldest, sizeof(oldest), l->queued_records ? l->oldest_age_s : -1);
	printf("%s sync: %llu records queued (%s), oldest %s\n", w->name,
	       (unsigned long long)l->queued_records, qb, oldest);
	fmt_age(ago, sizeof(ago), l->last_success > 0 ? (double)(now - l->last_success) : -1);
	printf("  last success %s ago", ago);
	fmt_age(ago, sizeof(ago), l->last_contact > 0 ? (double)(now - l->last_contact) : -1);
	printf(", last contact %s ago, sent today %s\n", ago, sent);
	if (l->has_last_error_code) {
		fmt_age(ago, sizeof(ago), (double)(now - l->last_error_at));
		printf("  last error %d %s (%s ago)\n", l->last_error_code,
		       l->last_error_text ? l->last_error_text : "", ago);
	}
	printf("  dropped %llu, dead-lettered %llu", (unsigned long long)l->dropped,
	       (unsigned long long)l->dead_lettered);
	for (size_t i = 0; i < l->n_extra; i++)
		printf(", %s %g", l->extra[i]->name, l->extra[i]->value);
	printf("\n");
}

static void
print_status(const Status *st, bool sync_only)
{
	char up[32], hb[32];
	if (!sync_only) {
		fmt_age(up, sizeof(up), st->supervisor_uptime_s);
		printf("leafmond %s, pid %d, up %s, config %s\n", st->version, st->supervisor_pid, up,
		       st->config);
		printf("%-7s %-9s %7s %8s %8s %9s  %s\n", "WORKER", "STATE", "PID", "UPTIME",
		       "RESTARTS", "HEARTBEAT", "LAST EXIT");
		for (size_t i = 0; i < st->n_workers; i++) {
			const WorkerStatus *w = st->workers[i];
			char pid[16];
			snprintf(pid, sizeof(pid), w->has_pid ? "%d" : "-", w->pid);
			fmt_age(up, sizeof(up), w->has_uptime_s ? w->uptime_s : -1);
			fmt_age(hb, sizeof(hb), w->has_heartbeat_age_s ? w->heartbeat_age_s : -1);
			printf("%-7s %-9s %7s %8s %8u %9s  %s\n", w->name, w->state, pid, up,
			       w->restarts, hb, w->last_exit && *w->last_exit ? w->last_exit : "-");
		}
		for (size_t i = 0; i < st->n_workers; i++)
			for (size_t k = 0; k < st->workers[i]->n_alerts; k++)
				printf("alert %s: %s\n", st->workers[i]->name,
				       st->workers[i]->alerts[k]->text);
		for (size_t k = 0; k < st->n_alerts; k++)
			printf("alert: %s\n", st->alerts[k]->text);
		const WorkerStatus *can = status_worker(st, "can");
		if (can != NULL && can->n_counters > 0) {
			printf("can:");
			for (size_t k = 0; k < can->n_counters; k++)
				printf(" %s=%g", can->counters[k]->name, can->counters[k]->value);
			printf("\n");
		}
		if (st->clock != NULL)
			printf("clock: %s, boot %s\n",
			       st->clock->synced ? "synchronised" : "NOT synchronised (no NTP yet)",
			       st->clock->boot_id);
	}
	int ledgers = 0;
	for (size_t i = 0; i < st->n_workers; i++)
		if (st->workers[i]->ledger != NULL) {
			print_ledger(st->workers[i]);
			ledgers++;
			/* `status sync` alone: the writer's alerts (auth, unreachable...) too */
			for (size_t k = 0; sync_only && k < st->workers[i]->n_alerts; k++)
				printf("  alert %s: %s\n", st->workers[i]->alerts[k]->code,
				       st->workers[i]->alerts[k]->text);
		}
	if (sync_only && ledgers == 0)
		printf("no writer has reported a ledger yet (influx and cloud disabled or starting)\n");
}

int
cmd_status(struct cli *c, int argc, char **argv)
{
	bool sync_only = false;
	want_json(c, argc, argv);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "sync") == 0)
			sync_only = true;
		else if (strcmp(argv[i], "--json") != 0) {
			fprintf(stderr, "usage: leafmon status [sync] [--json]\n");
			return EXIT_USAGE;
		}
	}
	ControlResponse *resp;
	int rv = status_fetch(c->rundir, &resp, CONTROL_TIMEOUT_MS);
	if (rv < 0)
		return not_running(c, rv);
	if (resp->status == NULL) {
		fprintf(stderr, "leafmon: %s\n", resp->error ? resp->error : "no status");
		leafmon__v1__control_response__free_unpacked(resp, NULL);
		return 1;
	}
	int code = 0;
	for (size_t i = 0; i < resp->status->n_workers; i++) {
		const char *s = resp->status->workers[i]->state;
		if (strcmp(s, "ready") != 0 && strcmp(s, "disabled") != 0)
			code = 4;
	}
	if (c->json) {
		struct buf b;
		buf_init(&b);
		status_to_json(resp->status, &b);
		printf("%s\n", buf_str(&b));
		buf_free(&b);
	} else {
		print_status(resp->status, sync_only);
	}
	leafmon__v1__control_response__free_unpacked(resp, NULL);
	return code;
}

static int
control(struct cli *c, ControlRequest *req)
{
	uint8_t *raw;
	size_t len;
	int rv = bus_control_call(c->rundir, &req->base, &raw, &len, CONTROL_TIMEOUT_MS);
	if (rv < 0)
		return not_running(c, rv);
	ControlResponse *resp = msg_control_response_unpack(raw, len);
	free(raw);
	if (resp == NULL) {
		fprintf(stderr, "leafmon: malformed response from leafmond\n");
		return 1;
	}
	int code = resp->code == 0 ? 0 : 1;
	if (resp->code != 0)
		fprintf(stderr, "leafmon: %s\n", resp->error ? resp->error : strerror(resp->code));
	else if (resp->message != NULL)
		printf("%s\n", resp->message);
	leafmon__v1__control_response__free_unpacked(resp, NULL);
	return code;
}

int
cmd_worker_op(struct cli *c, int argc, char **argv)
{
	ControlRequest req = LEAFMON__V1__CONTROL_REQUEST__INIT;
	Leafmon__V1__WorkerRequest wr = LEAFMON__V1__WORKER_REQUEST__INIT;
	if (argc != 2) {
		fprintf(stderr, "usage: leafmon %s WORKER   (can, influx, cloud, web, mqtt, abrp or ledger)\n", argv[0]);
		return EXIT_USAGE;
	}
	wr.worker = argv[1];
	if (strcmp(argv[0], "start") == 0) {
		req.op_case = LEAFMON__V1__CONTROL_REQUEST__OP_START;
		req.start = &wr;
	} else if (strcmp(argv[0], "stop") == 0) {
		req.op_case = LEAFMON__V1__CONTROL_REQUEST__OP_STOP;
		req.stop = &wr;
	} else {
		req.op_case = LEAFMON__V1__CONTROL_REQUEST__OP_RESTART;
		req.restart = &wr;
	}
	return control(c, &req);
}

int
cmd_reload(struct cli *c, int argc, char **argv)
{
	ControlRequest req = LEAFMON__V1__CONTROL_REQUEST__INIT;
	Leafmon__V1__ReloadRequest rr = LEAFMON__V1__RELOAD_REQUEST__INIT;
	if (argc != 1) {
		fprintf(stderr, "usage: leafmon reload\n");
		return EXIT_USAGE;
	}
	req.op_case = LEAFMON__V1__CONTROL_REQUEST__OP_RELOAD;
	req.reload = &rr;
	return control(c, &req);
}
