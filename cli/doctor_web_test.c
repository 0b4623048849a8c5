/* leafmon doctor's web checks, with the doctor's reporting stubbed: a port
 * that answers (or not), password and TLS file permissions, missing
 * dashboard files, a dashboard without a login. */
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor_double.h"
#include "t.h"
#include "util.h"

static void
setup(struct doctor *d, const char *root)
{
	memset(d, 0, sizeof(*d));
	config_defaults(&d->c.cfg);
	snprintf(d->c.cfg.web.root, sizeof(d->c.cfg.web.root), "%s", root);
	buf_init(&d->out);
}

static char *
make_root(bool complete)
{
	static char root[600];
	char path[700];
	snprintf(root, sizeof(root), "%s/root", t_tmpdir());
	snprintf(path, sizeof(path), "%s/vendor", root);
	mkdir_p(path, 0755);
	const char *files[] = {"index.html", "login.html", "app.js", "vendor/uPlot.iife.min.js"};
	for (size_t i = 0; i < (complete ? 4u : 3u); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, files[i]);
		file_write_atomic(path, "x", 1, 0644);
	}
	return root;
}

static void
test_doctor_web_disabled_and_files(void)
{
	struct doctor d;
	setup(&d, make_root(false));
	d.c.cfg.web.enabled = false;
	doctor_web_checks(&d);
	CHECK_STR(buf_str(&d.out), "SKIP web: disabled in the config\n");
	buf_free(&d.out);

	setup(&d, make_root(false));
	d.c.cfg.web.port = 1; /* nothing listens on port 1 */
	doctor_web_checks(&d);
	const char *out = buf_str(&d.out);
	CHECK(strstr(out, "FAIL web listening: nothing answers on port 1\n") != NULL);
	CHECK(strstr(out, "WARN web password: no login: anyone who reaches 0.0.0.0") != NULL);
	CHECK(strstr(out, "FAIL web files:") != NULL);
	CHECK(strstr(out, "vendor/uPlot.iife.min.js missing") != NULL);
	buf_free(&d.out);
}

static void
test_doctor_web_secrets(void)
{
	struct doctor d;
	char pw[200], cert[200], key[200];
	const char *dir = t_tmpdir();
	snprintf(pw, sizeof(pw), "%.150s/pw", dir);
	snprintf(cert, sizeof(cert), "%.150s/cert.pem", dir);
	snprintf(key, sizeof(key), "%.150s/key.pem", dir);
	file_write_atomic(pw, "password1\n", 10, 0640);
	file_write_atomic(cert, "-----BEGIN CERTIFICATE-----\n", 28, 0644);
	file_write_atomic(key, "not a key\n", 10, 0600);
	setup(&d, make_root(true));
	d.c.cfg.web.port = 0;
	snprintf(d.c.cfg.web.password_file, sizeof(d.c.cfg.web.password_file), "%s", pw);
	snprintf(d.c.cfg.web.tls_cert, sizeof(d.c.cfg.web.tls_cert), "%s", cert);
	snprintf(d.c.cfg.web.tls_key, sizeof(d.c.cfg.web.tls_key), "%s", key);
	doctor_web_checks(&d);
	const char *out = buf_str(&d.out);
	CHECK(strstr(out, "SKIP web listening: port = 0 and leafmond is not running\n") != NULL);
	CHECK(strstr(out, "WARN web password: ") != NULL && strstr(out, "(mode 640)") != NULL);
	CHECK(strstr(out, "OK web TLS certificate: ") != NULL);
	CHECK(strstr(out, "OK web TLS key: ") != NULL && strstr(out, "FAIL web TLS key: ") != NULL);
	CHECK(strstr(out, "OK web files: dashboard files in ") != NULL);
	buf_free(&d.out);
	chmod(pw, 0600);
	unlink(key);
	setup(&d, make_root(true));
	snprintf(d.c.cfg.web.password_file, sizeof(d.c.cfg.web.password_file), "%s", pw);
	snprintf(d.c.cfg.web.tls_cert, sizeof(d.c.cfg.web.tls_cert), "%s", cert);
	snprintf(d.c.cfg.web.tls_key, sizeof(d.c.cfg.web.tls_key), "%s", key);
	d.c.cfg.web.port = 0;
	doctor_web_checks(&d);
	out = buf_str(&d.out);
	CHECK(strstr(out, "OK web password: ") != NULL && strstr(out, "private") != NULL);
	CHECK(strstr(out, "FAIL web TLS key: ") != NULL && strstr(out, "No such file") != NULL);
	buf_free(&d.out);
}

static void
test_doctor_web_port_from_the_status(void)
{
	struct doctor d;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	CHECK_INT(listen(fd, 4), ==, 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	Status st = LEAFMON__V1__STATUS__INIT;
	WorkerStatus w = LEAFMON__V1__WORKER_STATUS__INIT, *wp = &w;
	Counter c = LEAFMON__V1__COUNTER__INIT, *cp = &c;
	w.name = "web";
	w.state = "ready";
	c.name = "port";
	c.value = ntohs(a.sin_port);
	w.n_counters = 1;
	w.counters = &cp;
	st.n_workers = 1;
	st.workers = &wp;
	setup(&d, make_root(true));
	d.st = &st;
	d.c.cfg.web.port = 0;
	doctor_web_checks(&d);
	/* it accepts, but never answers: not leafmon */
	CHECK(strstr(buf_str(&d.out), "does not answer as leafmon") != NULL);
	buf_free(&d.out);
	w.state = "backoff";
	setup(&d, make_root(true));
	d.st = &st;
	doctor_web_checks(&d);
	CHECK(strstr(buf_str(&d.out), "FAIL web listening: the web worker is backoff") != NULL);
	buf_free(&d.out);
	close(fd);
}

T_MAIN(T(test_doctor_web_disabled_and_files), T(test_doctor_web_secrets),
       T(test_doctor_web_port_from_the_status))
