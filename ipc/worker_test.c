/*
 * The worker runtime's start-up failures (worker.h's exit-code contract):
 * worker_fail() logs its reason as an error and exits with its code;
 * worker_init() fails 78 on a config that does not load and 1 with no
 * parent channel. Each case runs in a child, its stderr read back; a
 * child's exit runs the harness's clean-up too, so each has a new directory.
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t.h"
#include "worker.h"

struct outcome {
	int code; /* exit status, -1 when it did not exit */
	char err[4096];
};

/* Run fn(arg) in a child with stderr to a pipe; it must not return. */
static void
run_child(void (*fn)(const char *arg), const char *arg, struct outcome *o)
{
	int p[2];
	CHECK_INT(pipe(p), ==, 0);
	pid_t pid = fork();
	CHECK_INT(pid, >=, 0);
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(WORKER_CHAN_FD); /* no parent channel, whatever the harness holds */
		fn(arg);
		_exit(99); /* returned: the test fails on the code */
	}
	close(p[1]);
	size_t len = 0;
	ssize_t n;
	while ((n = read(p[0], o->err + len, sizeof(o->err) - 1 - len)) > 0)
		len += (size_t)n;
	o->err[len] = '\0';
	close(p[0]);
	int status;
	CHECK_INT(waitpid(pid, &status, 0), ==, pid);
	o->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
fail_config(const char *arg)
{
	worker_fail(WORKER_EXIT_CONFIG, "bad %s", arg);
}

static void
fail_start(const char *arg)
{
	worker_fail(WORKER_EXIT_START, "cannot %s", arg);
}

static void
init_with(const char *conf)
{
	static struct worker w;
	char *argv[] = {"leafmon-t", "-c", (char *)conf, NULL};
	worker_init(&w, "t", 3, argv);
}

static void
test_worker_fail_logs_an_error_and_exits_with_its_code(void)
{
	struct outcome o;
	run_child(fail_config, "thing", &o);
	CHECK_INT(o.code, ==, 78);
	CHECK(strstr(o.err, "[error]: bad thing\n") != NULL);
	run_child(fail_start, "listen", &o);
	CHECK_INT(o.code, ==, 1);
	CHECK(strstr(o.err, "[error]: cannot listen\n") != NULL);
}

static char *
write_conf(const char *dir, const char *text)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/leafmon.conf", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
	return path;
}

static void
test_worker_init_fails_78_on_config_and_1_without_channel(void)
{
	char *dir = t_tmpdir();
	char text[1024];
	struct outcome o;
	run_child(init_with, write_conf(dir, "[web]\nwarp = 9\n"), &o);
	CHECK_INT(o.code, ==, 78);
	CHECK(strstr(o.err, "leafmon.conf:2") != NULL && strstr(o.err, "warp") != NULL);
	dir = t_tmpdir();
	snprintf(text, sizeof(text), "[supervisor]\nrundir = %s/run\nstatedir = %s/state\n", dir,
		 dir);
	run_child(init_with, write_conf(dir, text), &o);
	CHECK_INT(o.code, ==, 1);
	if (strstr(o.err, "[error]: no parent channel on fd 3") == NULL)
		t_fail(__FILE__, __LINE__, "stderr: %s", o.err);
}

T_MAIN(T(test_worker_fail_logs_an_error_and_exits_with_its_code),
       T(test_worker_init_fails_78_on_config_and_1_without_channel))
