/*
 * leafmon doctor: the web worker's checks. Is the dashboard listening (and
 * answering as leafmon), is the password file private, are the TLS files
 * readable and the key private, are the dashboard's files installed, and
 * is a dashboard without a login reachable from the network.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "status.h"
#include "util.h"

#ifndef LEAFMON_WEBDIR
#define LEAFMON_WEBDIR "/usr/local/share/leafmon/web"
#endif

/* connect to the port on loopback (or the bound address), 1 s at most */
static int
dial(const char *bind, unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct pollfd p;
	int err = 0;
	socklen_t len = sizeof(err);
	if (inet_pton(AF_INET, bind, &a.sin_addr) != 1 || a.sin_addr.s_addr == htonl(INADDR_ANY))
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS)
		goto fail;
	p = (struct pollfd){.fd = fd, .events = POLLOUT};
	if (poll(&p, 1, 1000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* a plain-HTTP /api/session: does leafmon answer? */
static bool
answers_as_leafmon(int fd)
{
	static const char req[] = "GET /api/session HTTP/1.0\r\nHost: localhost\r\n\r\n";
	char buf[2048];
	size_t got = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1))
		return false;
	while (got + 1 < sizeof(buf) && poll(&p, 1, 1000) == 1) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(buf, "\"auth_required\"") != NULL;
}

static unsigned
running_port(struct doctor *d, const char **state)
{
	const Status *st = doctor_status(d);
	const WorkerStatus *w = st != NULL ? status_worker(st, "web") : NULL;
	*state = w != NULL ? w->state : NULL;
	return (unsigned)status_counter(w, "port", 0);
}

static void
check_listening(struct doctor *d, const struct config *cfg)
{
	const char *state;
	unsigned port = running_port(d, &state);
	if (port == 0)
		port = (unsigned)cfg->web.port;
	if (state != NULL && strcmp(state, "ready") != 0) {
		doctor_report(d, DOC_FAIL, "web listening", "leafmon status; journalctl -u leafmon -n 50",
			      "the web worker is %s", state);
		return;
	}
	if (port == 0) {
		doctor_report(d, DOC_SKIP, "web listening", NULL, "port = 0 and leafmond is not running");
		return;
	}
	int fd = dial(cfg->web.bind, port);
	if (fd < 0) {
		doctor_report(d, DOC_FAIL, "web listening",
			      "start leafmond; if it runs, see why the web worker cannot bind",
			      "nothing answers on port %u", port);
		return;
	}
	bool tls = cfg->web.tls_cert[0] != '\0';
	if (!tls && !answers_as_leafmon(fd))
		doctor_report(d, DOC_WARN, "web listening", "another program may hold the port",
			      "port %u accepts connections but does not answer as leafmon", port);
	else
		doctor_report(d, DOC_OK, "web listening", NULL, "%s://%s:%u/ answers", tls ? "https" : "http",
			      strcmp(cfg->web.bind, "0.0.0.0") == 0 ? "localhost" : cfg->web.bind, port);
	close(fd);
}

/* a secret file: readable by us, private (no group/other bits) */
static void
check_private(struct doctor *d, const char *check, const char *path, bool secret)
{
	struct stat st;
	if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
		doctor_report(d, DOC_FAIL, check, "fix the path in [web] or the file's owner",
			      "%s: %s", path, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		doctor_report(d, DOC_FAIL, check, "point it at a regular file", "%s is not a file", path);
		return;
	}
	if (secret && (st.st_mode & 077) != 0)
		doctor_report(d, DOC_WARN, check, "chmod 600 the file (owner: the leafmon user)",
			      "%s is readable by group or others (mode %03o)", path,
			      (unsigned)(st.st_mode & 0777));
	else
		doctor_report(d, DOC_OK, check, NULL, "%s readable%s", path, secret ? ", private" : "");
}

static void
check_pem(struct doctor *d, const char *check, const char *path, const char *marker)
{
	char *text = file_read_str(path, 1 << 20, NULL);
	if (text == NULL)
		return; /* check_private() said why */
	if (strstr(text, marker) == NULL)
		doctor_report(d, DOC_FAIL, check, "give a PEM file", "%s has no %s", path, marker);
	free(text);
}

static void
check_login(struct doctor *d, const struct config *cfg)
{
	bool local = strcmp(cfg->web.bind, "127.0.0.1") == 0 || strcmp(cfg->web.bind, "::1") == 0;
	if (cfg->web.password_file[0] != '\0') {
		check_private(d, "web password", cfg->web.password_file, true);
		return;
	}
	doctor_report(d, local ? DOC_OK : DOC_WARN, "web password",
		      "set [web] password_file (8+ characters, chmod 600) to require a login",
		      local ? "no login; bound to %s only" : "no login: anyone who reaches %s can see "
							    "the dashboard (restarts stay disabled)",
		      cfg->web.bind);
}

static void
check_root(struct doctor *d, const struct config *cfg)
{
	const char *root = cfg->web.root[0] ? cfg->web.root : LEAFMON_WEBDIR;
	static const char *const need[] = {"index.html", "login.html", "app.js",
					   "vendor/uPlot.iife.min.js"};
	char path[600];
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, need[i]);
		if (access(path, R_OK) != 0) {
			doctor_report(d, DOC_FAIL, "web files", "reinstall (cmake --install) or fix [web] root",
				      "%s missing: the dashboard will not load", path);
			return;
		}
	}
	doctor_report(d, DOC_OK, "web files", NULL, "dashboard files in %s", root);
}

void
doctor_web_checks(struct doctor *d)
{
	const struct config *cfg = &doctor_cli(d)->cfg;
	if (!cfg->web.enabled) {
		doctor_report(d, DOC_SKIP, "web", NULL, "disabled in the config");
		return;
	}
	check_listening(d, cfg);
	check_login(d, cfg);
	if (cfg->web.tls_cert[0] != '\0') {
		check_private(d, "web TLS certificate", cfg->web.tls_cert, false);
		check_pem(d, "web TLS certificate", cfg->web.tls_cert, "-----BEGIN CERTIFICATE-----");
		check_private(d, "web TLS key", cfg->web.tls_key, true);
		check_pem(d, "web TLS key", cfg->web.tls_key, "PRIVATE KEY-----");
	}
	check_root(d, cfg);
}
