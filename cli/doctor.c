/*
 * leafmon doctor: the deployment self-check. Each check prints OK, WARN or
 * FAIL with the fix to try; the exit status is 1 when anything FAILs. Parts
 * add their checks through the registry below (doctor_can_checks, ...).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "snap.h"
#include "status.h"

struct doctor {
	const struct cli *c;
	bool json;
	int counts[4];
	struct buf out; /* JSON array when json */
	ControlResponse *status;
};

static const char *const level_names[] = {"OK", "WARN", "FAIL", "SKIP"};

void
doctor_report(struct doctor *d, enum doctor_level lvl, const char *check, const char *fix,
	      const char *fmt, ...)
{
	char detail[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	d->counts[lvl]++;
	if (d->json) {
		struct json j;
		json_init(&j, &d->out);
		j.need_comma[0] = d->out.len > 1;
		json_obj_open(&j, NULL);
		json_str(&j, "check", check);
		json_str(&j, "result", level_names[lvl]);
		json_str(&j, "detail", detail);
		if (fix != NULL && lvl != DOC_OK)
			json_str(&j, "fix", fix);
		json_obj_close(&j);
		return;
	}
	printf("%-4s %-22s %s\n", level_names[lvl], check, detail);
	if (fix != NULL && (lvl == DOC_WARN || lvl == DOC_FAIL))
		printf("     %-22s fix: %s\n", "", fix);
}

const struct cli *
doctor_cli(const struct doctor *d)
{
	return d->c;
}

const Status *
doctor_status(const struct doctor *d)
{
	return d->status ? d->status->status : NULL;
}

static void
check_config(struct doctor *d)
{
	const struct cli *c = d->c;
	char err[1024];
	struct config cfg;
	if (access(c->config_path, F_OK) != 0) {
		doctor_report(d, DOC_WARN, "config", "copy the example: cp /usr/local/share/leafmon/leafmon.conf /etc/leafmon/",
			      "%s absent: running on defaults", c->config_path);
		return;
	}
	if (config_load(&cfg, c->config_path, false, err, sizeof(err)) < 0) {
		doctor_report(d, DOC_FAIL, "config", "fix the line named, then: leafmon reload",
			      "%s", err);
		return;
	}
	doctor_report(d, DOC_OK, "config", NULL, "%s parses", c->config_path);
	if (cfg.warnings[0] != '\0') {
		char w[1024];
		snprintf(w, sizeof(w), "%s", cfg.warnings);
		for (char *line = strtok(w, "\n"); line; line = strtok(NULL, "\n"))
			doctor_report(d, DOC_WARN, "secrets", "chmod 600 the file and chown it to the leafmon user",
				      "%s", line);
	} else {
		doctor_report(d, DOC_OK, "secrets", NULL, "token and password files are private");
	}
}

static void
check_dir(struct doctor *d, const char *name, const char *path, bool need_space)
{
	struct statvfs vfs;
	if (access(path, F_OK) != 0) {
		doctor_report(d, DOC_FAIL, name, "start leafmond (it creates it) or mkdir it for the leafmon user",
			      "%s does not exist", path);
		return;
	}
	struct stat st;
	if (stat(path, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)))
		doctor_report(d, DOC_FAIL, name, "chmod go-w it (or let leafmond make its own)",
			      "%s is writable by group or others (mode %04o): leafmond refuses it",
			      path, (unsigned)(st.st_mode & 07777));
	else if (access(path, W_OK) != 0)
		doctor_report(d, geteuid() == 0 ? DOC_FAIL : DOC_WARN, name,
			      "chown it to the user leafmond runs as", "%s is not writable by uid %u",
			      path, (unsigned)geteuid());
	else
		doctor_report(d, DOC_OK, name, NULL, "%s writable", path);
	if (need_space && statvfs(path, &vfs) == 0) {
		double free_mb = (double)vfs.f_bavail * (double)vfs.f_frsize / 1e6;
		enum doctor_level lvl = free_mb < 50 ? DOC_FAIL : free_mb < 500 ? DOC_WARN : DOC_OK;
		doctor_report(d, lvl, "disk space", "free space or lower spool_max_mb / record_max_mb",
			      "%.0f MB free under %s", free_mb, path);
	}
}

static void
check_daemon(struct doctor *d)
{
	if (d->status == NULL || d->status->status == NULL) {
		doctor_report(d, DOC_FAIL, "leafmond", "systemctl start leafmon (journalctl -u leafmon for why it stopped)",
			      "not answering on %s/control.ipc", d->c->rundir);
		return;
	}
	const Status *st = d->status->status;
	doctor_report(d, DOC_OK, "leafmond", NULL, "pid %d, up %.0f s", st->supervisor_pid,
		      st->supervisor_uptime_s);
	for (size_t i = 0; i < st->n_workers; i++) {
		const WorkerStatus *w = st->workers[i];
		char check[32];
		snprintf(check, sizeof(check), "worker %s", w->name);
		if (strcmp(w->state, "ready") == 0)
			doctor_report(d, DOC_OK, check, NULL, "ready, %u restarts", w->restarts);
		else if (strcmp(w->state, "disabled") == 0)
			doctor_report(d, DOC_SKIP, check, NULL, "disabled in the config");
		else
			doctor_report(d, strcmp(w->state, "starting") == 0 ? DOC_WARN : DOC_FAIL, check,
				      "leafmon status; journalctl -u leafmon -n 50",
				      "%s%s%s%s", w->state, w->last_exit && *w->last_exit ? " (last: " : "",
				      w->last_exit && *w->last_exit ? w->last_exit : "",
				      w->last_exit && *w->last_exit ? ")" : "");
		for (size_t k = 0; k < w->n_alerts; k++)
			doctor_report(d, DOC_WARN, check, "see the alert text", "%s", w->alerts[k]->text);
	}
	if (st->clock != NULL)
		doctor_report(d, st->clock->synced ? DOC_OK : DOC_WARN, "clock",
			      "enable NTP (timedatectl set-ntp true); data is re-based once it syncs",
			      "%s", st->clock->synced ? "synchronised" : "not synchronised yet");
}

static void
check_snapshot(struct doctor *d)
{
	struct snap *s;
	if (snap_open(&s, d->c->rundir, false) < 0) {
		doctor_report(d, DOC_FAIL, "shared memory", "start leafmond", "%s/state.shm: %s",
			      d->c->rundir, strerror(errno));
		return;
	}
	int pid = snap_writer_pid(s);
	if (pid > 0 && kill(pid, 0) == 0)
		doctor_report(d, DOC_OK, "shared memory", NULL, "snapshot written by pid %d", pid);
	else
		doctor_report(d, DOC_WARN, "shared memory", "leafmon restart can",
			      "no live writer (last pid %d)", pid);
	snap_close(s);
}

static void
check_dirs(struct doctor *d)
{
	check_dir(d, "rundir", d->c->rundir, false);
	check_dir(d, "statedir", d->c->statedir, true);
}

/* The registry: the spine's checks, then each part's, by the name that
 * `leafmon doctor PART...` selects them with. */
static const struct {
	const char *name;
	void (*fn)(struct doctor *d);
} checks[] = {
    {"config", check_config},	     {"dirs", check_dirs},	       {"daemon", check_daemon},
    {"snapshot", check_snapshot},    {"can", doctor_can_checks},     {"influx", doctor_influx_checks},
    {"cloud", doctor_cloud_checks}, {"web", doctor_web_checks},	     {"mqtt", doctor_mqtt_checks},
};

static int
doctor_usage(void)
{
	fprintf(stderr, "usage: leafmon doctor [--json] [PART...]\nparts:");
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		fprintf(stderr, " %s", checks[i].name);
	fprintf(stderr, " (all by default)\n");
	return EXIT_USAGE;
}

int
cmd_doctor(struct cli *c, int argc, char **argv)
{
	struct doctor d = {.c = c};
	bool want[sizeof(checks) / sizeof(checks[0])] = {false}, some = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			c->json = true;
			continue;
		}
		size_t k = 0;
		while (k < sizeof(checks) / sizeof(checks[0]) && strcmp(checks[k].name, argv[i]) != 0)
			k++;
		if (k == sizeof(checks) / sizeof(checks[0]))
			return doctor_usage();
		want[k] = some = true;
	}
	d.json = c->json;
	buf_init(&d.out);
	if (d.json)
		buf_putc(&d.out, '[');
	if (status_fetch(c->rundir, &d.status, 3000) < 0)
		d.status = NULL; /* not running: check_daemon says so, the parts cope */
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (!some || want[i])
			checks[i].fn(&d);
	if (d.json) {
		buf_putc(&d.out, ']');
		printf("%s\n", buf_str(&d.out));
	} else {
		printf("\n%d ok, %d warnings, %d failed\n", d.counts[DOC_OK], d.counts[DOC_WARN],
		       d.counts[DOC_FAIL]);
	}
	buf_free(&d.out);
	if (d.status != NULL)
		leafmon__v1__control_response__free_unpacked(d.status, NULL);
	return d.counts[DOC_FAIL] ? 1 : 0;
}
