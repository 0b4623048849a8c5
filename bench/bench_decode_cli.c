/*
 * `leafmon decode` as a user runs it (not a test; run by hand):
 *   bench_decode_cli --data DIR --leafmon PATH [--against PATH] [--runs N]
 *                    [--frames N] [--log REL] [--keep FILE]
 * Makes a candump -l log of N frames (2,000,000) in /tmp from a real log
 * (ZE1 e+ driving by default, looped with its times moved on by its own
 * length each time, so the clock never runs back), then runs
 * `leafmon decode --json FILE` and `leafmon decode --summary FILE` (stdout
 * to /dev/null) N times each and prints the medians of their CPU time
 * (user + system, wait4). With --against, a second binary (the tree before
 * a change) runs in the same rounds, alternating, for ratios within one
 * run. The original Python stack cannot run here: its figure is the one
 * issue 13 measured on this machine (11.7 s for 2M frames) and is quoted.
 * --keep FILE: write the log there and keep it (for perf), no runs.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_stats.h"
#include "logfmt.h"
#include "logread.h"

#define PY_BASELINE_S 11.7 /* issue 13: the Python stack, 2M frames, this machine */

/* The real log's frames, looped into out as candump -l; -1 on error. */
static int
make_log(const char *src, const char *out, long want)
{
	struct logread r;
	struct can_rec *fs = NULL, f;
	size_t n = 0, cap = 0;
	char line[256];
	int k;

	if (logread_open(&r, src, LF_AUTO, BUS_EV, 1700000000000000000LL) < 0)
		return perror(src), -1;
	while ((k = logread_next(&r, &f)) != 0) {
		if (k < 0)
			continue;
		if (n == cap &&
		    (fs = realloc(fs, (cap = cap ? cap * 2 : 65536) * sizeof(*fs))) == NULL)
			return -1;
		fs[n++] = f;
	}
	logread_close(&r);
	FILE *o = fopen(out, "w");
	if (n == 0 || o == NULL)
		return fprintf(stderr, "%s: no frames, or %s: cannot write\n", src, out), -1;
	int64_t span = fs[n - 1].t_ns - fs[0].t_ns + 10000000, shift = 0;
	for (long i = 0; i < want; i++) {
		if (i > 0 && i % (long)n == 0)
			shift += span;
		f = fs[i % (long)n];
		f.t_ns += shift;
		if ((k = logfmt_candump(line, sizeof(line), &f, can_bus_name(f.bus))) > 0)
			fwrite(line, 1, (size_t)k, o);
	}
	free(fs);
	return fclose(o) == 0 ? 0 : -1;
}

/* CPU seconds of one `leafmon decode MODE FILE`, or -1. */
static double
run_once(const char *bin, const char *mode, const char *file)
{
	struct rusage ru;
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, STDOUT_FILENO);
		execl(bin, bin, "decode", mode, file, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"data", required_argument, NULL, 'd'},    {"leafmon", required_argument, NULL, 'l'},
	    {"against", required_argument, NULL, 'a'}, {"runs", required_argument, NULL, 'r'},
	    {"frames", required_argument, NULL, 'n'},  {"log", required_argument, NULL, 'g'},
	    {"keep", required_argument, NULL, 'k'},    {NULL, 0, NULL, 0}};
	const char *data = NULL, *bin = NULL, *against = NULL, *keep = NULL;
	const char *rel = "ze1_2018plus/EV-CANepluseco.log";
	static const char *const modes[] = {"--json", "--summary"};
	long frames = 2000000;
	int runs = 5, ch;
	char src[600], file[] = "/tmp/bench_decode_cli.XXXXXX";

	while ((ch = getopt_long(argc, argv, "d:l:a:r:n:g:k:", opts, NULL)) != -1) {
		if (ch == 'd')
			data = optarg;
		else if (ch == 'l')
			bin = optarg;
		else if (ch == 'a')
			against = optarg;
		else if (ch == 'r')
			runs = atoi(optarg) < 1 ? 1 : atoi(optarg) > 64 ? 64 : atoi(optarg);
		else if (ch == 'n')
			frames = atol(optarg) < 1 ? 1 : atol(optarg);
		else if (ch == 'g')
			rel = optarg;
		else if (ch == 'k')
			keep = optarg;
	}
	if (data != NULL && keep != NULL) {
		snprintf(src, sizeof(src), "%s/logs/%s", data, rel);
		return make_log(src, keep, frames) < 0;
	}
	if (data == NULL || bin == NULL) {
		fprintf(stderr,
			"usage: bench_decode_cli --data DIR --leafmon PATH [--against PATH] "
			"[--runs N] [--frames N] [--log REL] [--keep FILE]\n");
		return 2;
	}
	snprintf(src, sizeof(src), "%s/logs/%s", data, rel);
	int fd = mkstemp(file);
	if (fd < 0)
		return perror("mkstemp"), 1;
	close(fd);
	if (make_log(src, file, frames) < 0) {
		unlink(file);
		return 1;
	}
	printf("%ld candump -l frames from %s, median of %d runs (CPU: user + system)\n", frames,
	       rel, runs);
	for (int m = 0; m < 2; m++) {
		double a[64], b[64];
		int na = 0, nb = 0;
		for (int i = 0; i < runs; i++) {
			double x = run_once(bin, modes[m], file);
			double y = against != NULL ? run_once(against, modes[m], file) : -1;
			if (x >= 0)
				a[na++] = x;
			if (y >= 0)
				b[nb++] = y;
		}
		if (na == 0) {
			printf("leafmon decode %s: failed\n", modes[m]);
			continue;
		}
		double ma = median(a, na);
		printf("leafmon decode %-9s %.3f s CPU, %.1f M frames/s, %.0fx the Python stack's "
		       "%.1f s (issue 13's figure)",
		       modes[m], ma, frames / ma / 1e6, PY_BASELINE_S * frames / 2e6 / ma,
		       PY_BASELINE_S);
		if (nb > 0)
			printf("; --against: %.3f s (%.2fx faster now)", median(b, nb),
			       median(b, nb) / ma);
		printf("\n");
	}
	unlink(file);
	return 0;
}
