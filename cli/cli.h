/*
 * The leafmon command-line tool: shared options and the commands. Each
 * command is `int cmd_X(struct cli *c, int argc, char **argv)` returning the
 * process exit code (0 ok, 1 failure, 2 usage, 3 leafmond not running,
 * 78 config error); argv[0] is the command name.
 */
#ifndef LEAFMON_CLI_H
#define LEAFMON_CLI_H

#include <stdbool.h>

#include "config.h"
#include "msg.h"

#define EXIT_USAGE 2
#define EXIT_NOT_RUNNING 3

struct cli {
	const char *config_path; /* resolved: -c, $LEAFMON_CONFIG, /etc/leafmon/leafmon.conf */
	struct config cfg;	 /* loaded (defaults when the file is absent) */
	bool cfg_loaded;	 /* the file existed and parsed */
	char rundir[256];
	char statedir[256];
	bool json;
};

int cmd_status(struct cli *c, int argc, char **argv);
int cmd_worker_op(struct cli *c, int argc, char **argv); /* start, stop, restart */
int cmd_reload(struct cli *c, int argc, char **argv);
int cmd_get(struct cli *c, int argc, char **argv);
int cmd_snapshot(struct cli *c, int argc, char **argv);
int cmd_watch(struct cli *c, int argc, char **argv);
int cmd_doctor(struct cli *c, int argc, char **argv);
/* trips, charges, parks, battery: the ledger (cli/cmd_ledger.c) */
int cmd_ledger(struct cli *c, int argc, char **argv);
/* can part: cli/cmd_decode.c, cli/cmd_dump.c, cli/cmd_sim.c */
int cmd_decode(struct cli *c, int argc, char **argv);
int cmd_dump(struct cli *c, int argc, char **argv);
int cmd_sim(struct cli *c, int argc, char **argv);
int cmd_replay(struct cli *c, int argc, char **argv);
struct decode_opts;
void cli_decode_opts(struct cli *c, struct decode_opts *o);
/* leafmon import FILE...: a recording's sessions into the ledger (cli/cmd_import.c) */
int cmd_import(struct cli *c, int argc, char **argv);

/* leafmon doctor: checks report through this; parts add their checks in
 * doctor_can.c, doctor_influx.c ... registered in cli/doctor.c. */
enum doctor_level { DOC_OK, DOC_WARN, DOC_FAIL, DOC_SKIP };
struct doctor;
void doctor_report(struct doctor *d, enum doctor_level lvl, const char *check, const char *fix,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
const struct cli *doctor_cli(const struct doctor *d);
/* leafmond's status as fetched by the doctor (NULL when it is not running) */
const Status *doctor_status(const struct doctor *d);
void doctor_can_checks(struct doctor *d);
void doctor_cloud_checks(struct doctor *d); /* cli/doctor_cloud.c */
void doctor_influx_checks(struct doctor *d);
void doctor_web_checks(struct doctor *d); /* cli/doctor_web.c */
void doctor_mqtt_checks(struct doctor *d); /* cli/doctor_mqtt.c */

#endif
