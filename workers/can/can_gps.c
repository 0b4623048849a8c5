/*
 * The gpsd client (can_gps.h): libgps's socket on our loop. gps_open() and
 * gps_stream() run from a timer, never from the frame path; the host is an
 * IP literal (config_gps_parse), so no name lookup waits.
 */
#include "can_gps.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gps.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "worker.h"

#define GPS_BACKOFF_MIN_NS NSEC_PER_SEC
#define GPS_BACKOFF_MAX_NS (30 * NSEC_PER_SEC)
#define GPS_READS_PER_WAKE 64		/* lines per readable event: the loop goes round */
#define GPS_PROBE_NS (5 * NSEC_PER_SEC) /* a connect that has not answered by then failed */

static void probe_end(struct can_gps *g);

static void
gps_down(struct can_gps *g, const char *why)
{
	probe_end(g);
	if (g->gd != NULL) {
		loop_del_fd(g->loop, g->gd->gps_fd);
		gps_close(g->gd);
		free(g->gd);
		g->gd = NULL;
	}
	if (g->up)
		g->disconnects++;
	if (!g->said_down)
		log_warnx("gps: gpsd %s:%s: %s (retrying, backoff up to %lld s)", g->host, g->port,
			  why, GPS_BACKOFF_MAX_NS / NSEC_PER_SEC);
	g->said_down = true;
	if (g->down_since == 0)
		g->down_since = now_real_ns();
	snprintf(g->err, sizeof(g->err), "%s", why);
	g->up = false;
	loop_timer_after(g->retry, g->backoff_ns);
	g->backoff_ns =
	    g->backoff_ns * 2 > GPS_BACKOFF_MAX_NS ? GPS_BACKOFF_MAX_NS : g->backoff_ns * 2;
}

static double
num(double v)
{
	return isfinite(v) ? v : NAN;
}

/* A TPV (the fix) into signals; the other reports only prove gpsd lives. */
static void
take_report(struct can_gps *g)
{
	struct gps_data_t *d = g->gd;
	struct sig_update u[GPS_MAX_UPDATES];
	struct gps_report r;
	size_t n;

	g->reports++;
	if (!(d->set & MODE_SET))
		return;
	r.mode = d->fix.mode;
	r.lat = d->set & LATLON_SET ? num(d->fix.latitude) : NAN;
	r.lon = d->set & LATLON_SET ? num(d->fix.longitude) : NAN;
	r.alt_m = d->set & ALTITUDE_SET ? num(d->fix.altMSL) : NAN;
	r.speed_ms = d->set & SPEED_SET ? num(d->fix.speed) : NAN;
	r.track_deg = d->set & TRACK_SET ? num(d->fix.track) : NAN;
	n = gps_pub_report(&g->pub, &r, now_mono_ns(), u);
	if (n > 0)
		g->cb(u, n, g->arg);
}

static void
on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct can_gps *g = arg;

	for (int i = 0; i < GPS_READS_PER_WAKE && g->gd != NULL; i++) {
		g->gd->set = 0;
		int rc = gps_read(g->gd, NULL, 0);
		if (rc < 0) {
			g->read_errors += (events & (EPOLLHUP | EPOLLRDHUP)) == 0;
			gps_down(g, (events & (EPOLLHUP | EPOLLRDHUP))
					? "gpsd closed the connection"
					: "read failed");
			return;
		}
		if (rc == 0)
			break; /* nothing more for now */
		take_report(g);
		if (!gps_waiting(g->gd, 0))
			break;
	}
	if (g->gd != NULL && (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)))
		gps_down(g, "gpsd closed the connection");
}

/* While the bus sleeps gpsd keeps its reports: a parked car needs no
 * position every second, and each report would wake the worker. */
static int
watch_flags(const struct can_gps *g)
{
	return g->asleep ? WATCH_DISABLE : WATCH_ENABLE | WATCH_JSON;
}

void
can_gps_sleep(struct can_gps *g, bool asleep)
{
	if (g->loop == NULL || g->asleep == asleep)
		return;
	g->asleep = asleep;
	log_debug("gps: %s gpsd's reports", asleep ? "pausing" : "resuming");
	if (g->gd != NULL && gps_stream(g->gd, watch_flags(g), NULL) < 0)
		gps_down(g, "cannot watch gpsd's reports");
}

/* gpsd answered the probe: libgps's own (blocking) connect is quick now. */
static void
gps_connect(struct can_gps *g)
{
	struct gps_data_t *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		gps_down(g, "out of memory");
		return;
	}
	if (gps_open(g->host, g->port, d) != 0) {
		free(d);
		gps_down(g, gps_errstr(errno));
		return;
	}
	g->gd = d;
	if (gps_stream(d, watch_flags(g), NULL) < 0 || fd_nonblock(d->gps_fd) < 0 ||
	    loop_add_fd(g->loop, d->gps_fd, EPOLLIN | EPOLLRDHUP, on_readable, g) < 0) {
		gps_down(g, "cannot watch gpsd's reports");
		return;
	}
	g->connects++;
	g->up = true;
	g->said_down = false;
	g->backoff_ns = GPS_BACKOFF_MIN_NS;
	if (g->down_since != 0 && g->connects > 1)
		log_info("gps: gpsd %s:%s is back", g->host, g->port);
	else
		log_info("gps: watching gpsd %s:%s", g->host, g->port);
	g->down_since = 0;
	g->err[0] = '\0';
}

static void
probe_end(struct can_gps *g)
{
	if (g->probe_fd >= 0) {
		loop_del_fd(g->loop, g->probe_fd);
		close(g->probe_fd);
		g->probe_fd = -1;
	}
	loop_timer_stop(g->probe_timer);
}

static void
on_probe(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct can_gps *g = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	probe_end(g);
	if (err != 0)
		gps_down(g, strerror(err));
	else
		gps_connect(g);
}

static void
on_probe_timeout(struct loop *l, struct loop_timer *t, void *arg)
{
	gps_down(arg, "no answer within 5 s");
}

/* A non-blocking connect to gpsd's address (an IP literal, config.h). */
static void
on_retry(struct loop *l, struct loop_timer *t, void *arg)
{
	struct can_gps *g = arg;
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	uint16_t port = (uint16_t)atoi(g->port);
	socklen_t sl;
	int fd;

	if (inet_pton(AF_INET, g->host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, g->host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		sl = sizeof(*a6);
	} else {
		gps_down(g, "not an IP address");
		return;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		gps_down(g, strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
		close(fd);
		gps_connect(g);
		return;
	}
	if (errno != EINPROGRESS || loop_add_fd(g->loop, fd, EPOLLOUT, on_probe, g) < 0) {
		gps_down(g, strerror(errno));
		close(fd);
		return;
	}
	g->probe_fd = fd;
	loop_timer_after(g->probe_timer, GPS_PROBE_NS);
}

int
can_gps_start(struct can_gps *g, struct loop *l, const char *host, const char *port, can_gps_cb cb,
	      void *arg)
{
	memset(g, 0, sizeof(*g));
	g->loop = l;
	str_copy(g->host, host, sizeof(g->host));
	str_copy(g->port, port, sizeof(g->port));
	g->cb = cb;
	g->arg = arg;
	g->backoff_ns = GPS_BACKOFF_MIN_NS;
	g->down_since = now_real_ns();
	g->probe_fd = -1;
	if ((g->retry = loop_timer_new(l, on_retry, g)) == NULL ||
	    (g->probe_timer = loop_timer_new(l, on_probe_timeout, g)) == NULL)
		return -1;
	loop_timer_after(g->retry, 0); /* the first open from the loop, too */
	return 0;
}

void
can_gps_stop(struct can_gps *g)
{
	if (g->loop == NULL)
		return;
	probe_end(g);
	if (g->gd != NULL) {
		loop_del_fd(g->loop, g->gd->gps_fd);
		gps_close(g->gd);
		free(g->gd);
		g->gd = NULL;
	}
	loop_timer_free(g->retry);
	loop_timer_free(g->probe_timer);
	g->retry = g->probe_timer = NULL;
	g->loop = NULL;
}

void
can_gps_heartbeat(const struct can_gps *g, struct heartbeat *hb)
{
	if (g->loop == NULL)
		return;
	hb_counter(hb, "gps_up", g->up);
	hb_counter(hb, "gps_connects", (double)g->connects);
	hb_counter(hb, "gps_disconnects", (double)g->disconnects);
	hb_counter(hb, "gps_reports", (double)g->reports);
	hb_counter(hb, "gps_fixes", (double)g->pub.fixes);
	hb_counter(hb, "gps_no_fix", (double)g->pub.no_fix);
	hb_counter(hb, "gps_published", (double)g->pub.published);
	hb_counter(hb, "gps_read_errors", (double)g->read_errors);
	hb_counter(hb, "gps_paused", g->asleep);
	if (!g->up && g->down_since != 0 && now_real_ns() - g->down_since >= 10 * NSEC_PER_SEC) {
		char text[256];
		snprintf(text, sizeof(text), "gpsd %s:%s is unreachable: %.150s", g->host, g->port,
			 g->err);
		hb_alert(hb, "no_gps", text, g->down_since / NSEC_PER_SEC);
	}
}
