/*
 * leafmon: the command-line tool. Global options, then a command from the
 * table; each command lives in its own file (cmd_*.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "worker.h"

struct command {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	bool needs_config;
	const char *help;
};

static int cmd_help(struct cli *c, int argc, char **argv);

static const struct command commands[] = {
    {"status", cmd_status, true, "status [sync] [--json]    workers, ledgers, CAN health, clock"},
    {"start", cmd_worker_op, true, "start WORKER             start a stopped worker"},
    {"stop", cmd_worker_op, true, "stop WORKER              stop a worker (until start)"},
    {"restart", cmd_worker_op, true, "restart WORKER           restart one worker"},
    {"reload", cmd_reload, true, "reload                   re-read the config (like SIGHUP)"},
    {"get", cmd_get, true, "get SIGNAL... [--json]   current values from shared memory"},
    {"snapshot", cmd_snapshot, true, "snapshot [--json]        every current value"},
    {"watch", cmd_watch, true, "watch [SIGNAL...] [--json] [--backlog]  live values as they are published"},
    {"dump", cmd_dump, true, "dump [--id LIST]         live raw frames, candump -l format"},
    {"decode", cmd_decode, true, "decode [--summary] FILE|- decode a CAN log offline (JSON lines)"},
    {"import", cmd_import, true, "import [--start T] FILE... a recording's sessions into the ledger"},
    {"sim", cmd_sim, false, "sim --to IFACE           put a simulated Leaf on a CAN interface"},
    {"replay", cmd_replay, false, "replay FILE --to IFACE   put a recorded log on a CAN interface"},
    {"trips", cmd_ledger, true, "trips [--since D] [--all] [--monthly] [--json|--csv]  the ledger's trips"},
    {"charges", cmd_ledger, true, "charges [--since D] [--monthly] [--json|--csv]  the ledger's charges"},
    {"parks", cmd_ledger, true, "parks [--since D] [--json|--csv]  the ledger's parked periods"},
    {"battery", cmd_ledger, true, "battery [--since D] [--json|--csv]  daily battery records and trend"},
    {"doctor", cmd_doctor, true, "doctor [--json] [PART...] check the installation, with fixes"},
    {"help", cmd_help, false, "help                     this text"},
};

static int
cmd_help(struct cli *c, int argc, char **argv)
{
	printf("usage: leafmon [-c FILE] [--rundir DIR] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %s\n", commands[i].help);
	printf("\nworkers: can, influx, cloud, web, ledger\n"
	       "exit status: 0 ok; 1 failed; 2 usage; 3 leafmond not running;\n"
	       "             4 running but a worker is not ready (status); 78 bad config\n");
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"rundir", required_argument, NULL, 'r'},
					     {"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'},
					     {"version", no_argument, NULL, 'V'},
					     {NULL, 0, NULL, 0}};
	static struct cli cli;
	struct cli *c = &cli;
	const char *cfg_opt = NULL, *rundir_opt = NULL;
	char err[1024];
	int ch;

	log_init("leafmon", LOG_WARNING);
	/* global options stop at the command ("+") */
	while ((ch = getopt_long(argc, argv, "+c:r:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfg_opt = optarg;
			break;
		case 'r':
			rundir_opt = optarg;
			break;
		case 'j':
			c->json = true;
			break;
		case 'V':
			printf("leafmon %s\n", LEAFMON_VERSION);
			return 0;
		default:
			return cmd_help(c, 0, NULL) + EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cmd_help(c, 0, NULL) + EXIT_USAGE;
	const char *name = argv[optind];
	const struct command *cmd = NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		fprintf(stderr, "leafmon: unknown command '%s' (leafmon help)\n", name);
		return EXIT_USAGE;
	}
	c->config_path = config_default_path(cfg_opt);
	bool optional = cfg_opt == NULL && getenv("LEAFMON_CONFIG") == NULL;
	if (config_load(&c->cfg, c->config_path, optional, err, sizeof(err)) == 0) {
		c->cfg_loaded = true;
	} else {
		if (cmd->needs_config && strcmp(name, "doctor") != 0)
			fprintf(stderr, "leafmon: warning: %s\n", err);
		config_peek_dirs(&c->cfg, c->config_path);
	}
	resolve_rundir(c->rundir, sizeof(c->rundir), rundir_opt, &c->cfg);
	resolve_statedir(c->statedir, sizeof(c->statedir), &c->cfg);
	/* commands parse their own options; optind restarts for them */
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	optind = 0; /* glibc: a full re-initialisation, so commands permute their args */
	return cmd->fn(c, sub_argc, sub_argv);
}
