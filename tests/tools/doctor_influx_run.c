/*
 * Runs cli/doctor_influx.c's checks outside the leafmon CLI, for
 * tests/integration/test_doctor_influx.py: a minimal doctor that prints
 * "LEVEL|check|detail" per report. Usage: doctor-influx-run CONFIG STATEDIR
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct doctor {
	struct cli c;
};

void
doctor_report(struct doctor *d, enum doctor_level lvl, const char *check, const char *fix,
	      const char *fmt, ...)
{
	static const char *const names[] = {"OK", "WARN", "FAIL", "SKIP"};
	char detail[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	printf("%s|%s|%s|%s\n", names[lvl], check, detail, fix ? fix : "");
}

const struct cli *
doctor_cli(const struct doctor *d)
{
	return &d->c;
}

const Status *
doctor_status(const struct doctor *d)
{
	return NULL;
}

int
main(int argc, char **argv)
{
	static struct doctor d;
	char err[512];
	if (argc != 3) {
		fprintf(stderr, "usage: doctor-influx-run CONFIG STATEDIR\n");
		return 2;
	}
	if (config_load(&d.c.cfg, argv[1], false, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 78;
	}
	d.c.config_path = argv[1];
	snprintf(d.c.statedir, sizeof(d.c.statedir), "%s", argv[2]);
	doctor_influx_checks(&d);
	return 0;
}
