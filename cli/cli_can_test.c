/*
 * The CAN commands: decode (samples as JSON lines, summary, --start),
 * sim and replay to stdout (`--to -`), usage errors, dump without a daemon.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "decode.h"
#include "logread.h"
#include "t.h"
#include "util.h"

static struct cli c;

static char *
run(int (*cmd)(struct cli *, int, char **), int *rc, int argc, ...)
{
	static char path[512];
	char *argv[16];
	va_list ap;
	int saved, fd;

	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	snprintf(path, sizeof(path), "%s/out", t_tmpdir());
	fflush(stdout);
	saved = dup(1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	close(fd);
	*rc = cmd(&c, argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	return file_read_str(path, 64 << 20, NULL);
}

static void
init(void)
{
	memset(&c, 0, sizeof(c));
	config_defaults(&c.cfg);
	snprintf(c.rundir, sizeof(c.rundir), "%s/nothing-here", t_tmpdir());
}

static void
test_cli_sim_replay_decode(void)
{
	char log[512], *out, *rep, *dec;
	int rc;
	FILE *fp;

	init();
	/* 3 s of a simulated ZE1 as candump -l */
	out = run(cmd_sim, &rc, 5, "sim", "--to", "-", "--generation", "ZE1");
	CHECK_INT(rc, ==, EXIT_USAGE); /* no --duration on stdout would never end: */
	free(out);
	out = run(cmd_sim, &rc, 7, "sim", "--to", "-", "--generation", "ZE1", "--duration", "3");
	CHECK_INT(rc, ==, 0);
	CHECK(out != NULL && strlen(out) > 10000);
	snprintf(log, sizeof(log), "%s/sim.log", t_tmpdir());
	fp = fopen(log, "w");
	fputs(out, fp);
	fclose(fp);
	/* replay to stdout at full speed gives the same frames */
	rep = run(cmd_replay, &rc, 6, "replay", log, "--to", "-", "--speed", "0");
	CHECK_INT(rc, ==, 0);
	CHECK_STR(rep, out);
	/* decode: JSON lines, enums as labels, the generation by name */
	dec = run(cmd_decode, &rc, 2, "decode", log);
	CHECK_INT(rc, ==, 0);
	CHECK(strncmp(dec, "{\"t\": ", 6) == 0);
	CHECK(strstr(dec, "\"vehicle_generation\": \"ZE1\"") != NULL);
	CHECK(strstr(dec, "\"vehicle_gear\": \"P\"") != NULL);
	CHECK(strstr(dec, "\"can_crc_errors\": 0") != NULL);
	CHECK(strstr(dec, "motor_temp_c") == NULL); /* provisional: never published */
	unsigned lines = 0;
	for (char *p = dec; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	CHECK(lines >= 25 && lines <= 31); /* 3 s at 100 ms */
	free(dec);
	/* summary */
	dec = run(cmd_decode, &rc, 3, "decode", "--summary", log);
	CHECK(strstr(dec, "generation ZE1\n") != NULL);
	CHECK(strstr(dec, "crc_errors 0\n") != NULL);
	free(dec);
	dec = run(cmd_decode, &rc, 4, "decode", "--summary", "--json", log);
	CHECK(strstr(dec, "\"generation\":\"ZE1\"") != NULL || strstr(dec, "\"generation\": \"ZE1\"") != NULL);
	free(dec);
	free(rep);
	free(out);
}

static void
test_cli_decode_start_and_errors(void)
{
	char log[512], *dec;
	int rc;
	FILE *fp;

	init();
	snprintf(log, sizeof(log), "%s/rel.log", t_tmpdir());
	fp = fopen(log, "w");
	fputs("0000.000000 0000054C 8 00 00 00 00 00 00 7F 00\n", fp); /* 23.5 degC */
	fputs("0000.150000 0000054C 8 00 00 00 00 00 00 80 00\n", fp); /* 24.0 degC */
	fputs("0000.250000 oops\n", fp);
	fputs("0000.350000 0000054C 8 00 00 00 00 00 00 80 00\n", fp);
	fclose(fp);
	dec = run(cmd_decode, &rc, 4, "decode", "--start", "1700000000", log);
	CHECK_INT(rc, ==, 0);
	CHECK(strstr(dec, "{\"t\": 1700000000.000000, \"climate_ambient_c\": -0.5") == NULL);
	CHECK(strstr(dec, "{\"t\": 1700000000.000000, \"climate_ambient_c\": 23.5") != NULL);
	CHECK(strstr(dec, "{\"t\": 1700000000.150000, \"climate_ambient_c\": 24") != NULL);
	free(dec);
	dec = run(cmd_decode, &rc, 3, "decode", "--format", "nope", log);
	CHECK_INT(rc, ==, EXIT_USAGE);
	free(dec);
	dec = run(cmd_decode, &rc, 2, "decode", "/no/such/file");
	CHECK_INT(rc, ==, 1);
	free(dec);
	dec = run(cmd_dump, &rc, 1, "dump");
	CHECK_INT(rc, ==, EXIT_NOT_RUNNING);
	free(dec);
	dec = run(cmd_dump, &rc, 3, "dump", "--id", "1DB,xyz");
	CHECK_INT(rc, ==, EXIT_USAGE);
	free(dec);
}

T_MAIN(T(test_cli_sim_replay_decode), T(test_cli_decode_start_and_errors))
