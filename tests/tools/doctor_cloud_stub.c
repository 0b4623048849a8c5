/*
 * leafmon-doctor-cloud-stub: runs doctor_cloud_checks() (cli/doctor_cloud.c)
 * with the doctor's reporting stubbed, one "LEVEL check: detail" line per
 * result, so the integration tests can drive the cloud checks against real
 * servers before the lead registers them in `leafmon doctor`.
 *   leafmon-doctor-cloud-stub -c FILE [--rundir DIR]
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "status.h"
#include "worker.h"

struct doctor {
	struct cli c;
	ControlResponse *st;
	int fails;
};

void
doctor_report(struct doctor *d, enum doctor_level lvl, const char *check, const char *fix,
	      const char *fmt, ...)
{
	static const char *const names[] = {"OK", "WARN", "FAIL", "SKIP"};
	va_list ap;
	printf("%s %s: ", names[lvl], check);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (fix != NULL && (lvl == DOC_WARN || lvl == DOC_FAIL))
		printf(" [fix: %s]", fix);
	printf("\n");
	d->fails += lvl == DOC_FAIL;
}

const struct cli *
doctor_cli(const struct doctor *d)
{
	return &d->c;
}

const Status *
doctor_status(const struct doctor *d)
{
	return d->st != NULL ? d->st->status : NULL;
}

int
main(int argc, char **argv)
{
	static struct doctor d;
	char err[1024];
	const char *conf = NULL, *rundir = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-c") == 0)
			conf = argv[i + 1];
		else if (strcmp(argv[i], "--rundir") == 0)
			rundir = argv[i + 1];
	}
	if (conf == NULL || config_load(&d.c.cfg, conf, false, err, sizeof(err)) < 0) {
		fprintf(stderr, "usage: %s -c FILE [--rundir DIR]%s%s\n", argv[0], conf ? ": " : "",
			conf ? err : "");
		return 2;
	}
	d.c.config_path = conf;
	resolve_rundir(d.c.rundir, sizeof(d.c.rundir), rundir, &d.c.cfg);
	if (status_fetch(d.c.rundir, &d.st, 3000) < 0)
		d.st = NULL;
	doctor_cloud_checks(&d);
	if (d.st != NULL)
		leafmon__v1__control_response__free_unpacked(d.st, NULL);
	return d.fails ? 1 : 0;
}
