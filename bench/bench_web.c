/*
 * bench_web: load for leafmon-web from one epoll loop. N SSE clients on
 * /api/stream (capture-to-client latency from each sample's "t") and M
 * keep-alive connections asking for a path (default /api/latest) as fast as
 * answers come. Prints one JSON line: counts, rates, p50/p99.
 *   bench_web -p PORT [-s SSE] [-c CONNS] [-d SECONDS] [-u PATH] [-H HEADER]
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "bench_stats.h"
#include "util.h"

#define MAX_LAT 2000000

struct conn {
	int fd;
	bool sse;
	char in[65536];
	size_t len;
	/* SSE: chunked decoding */
	bool head_done;
	size_t chunk_left;
	char size_buf[32];
	size_t size_len;
	char line[8192];
	size_t line_len;
	uint64_t events;
	/* requests */
	int64_t sent_ns;
	bool closed;
};

struct lat {
	double *v;
	size_t n;
};

static struct lat sse_lat, req_lat;
static uint64_t requests, errors;
static char request[2048];

static void
lat_add(struct lat *l, double ms)
{
	if (l->n < MAX_LAT)
		l->v[l->n++] = ms;
}

static double
pct(struct lat *l, double p)
{
	if (l->n == 0)
		return -1;
	qsort(l->v, l->n, sizeof(double), cmp_dbl);
	size_t i = (size_t)(p * (double)l->n);
	return l->v[i >= l->n ? l->n - 1 : i];
}

static int
dial(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fd_nonblock(fd);
	return fd;
}

/* one complete SSE line of text */
static void
sse_line(struct conn *c, const char *line)
{
	const char *t;
	if (strncmp(line, "data: {\"seq\":", 13) != 0 || (t = strstr(line, "\"t\":")) == NULL)
		return;
	double ts = strtod(t + 4, NULL);
	c->events++;
	lat_add(&sse_lat, (double)now_real_ns() / 1e6 - ts * 1000);
}

static void
sse_byte(struct conn *c, char ch)
{
	if (ch == '\n') {
		c->line[c->line_len] = '\0';
		sse_line(c, c->line);
		c->line_len = 0;
	} else if (c->line_len + 1 < sizeof(c->line)) {
		c->line[c->line_len++] = ch;
	}
}

/* de-chunk what arrived (after the response head) and feed the lines */
static void
sse_feed(struct conn *c, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (c->chunk_left > 0) { /* chunk data; the CRLF after it ends an empty size line */
			sse_byte(c, p[i]);
			c->chunk_left--;
			continue;
		}
		if (p[i] == '\n') {
			c->size_buf[c->size_len] = '\0';
			if (c->size_len > 0)
				c->chunk_left = strtoul(c->size_buf, NULL, 16);
			c->size_len = 0;
		} else if (p[i] != '\r' && c->size_len + 1 < sizeof(c->size_buf)) {
			c->size_buf[c->size_len++] = p[i];
		}
	}
}

static void
on_sse(struct conn *c)
{
	char buf[65536];
	ssize_t n;
	while ((n = read(c->fd, buf, sizeof(buf))) > 0) {
		size_t off = 0;
		if (!c->head_done) { /* still in the response head */
			size_t take = (size_t)n < sizeof(c->in) - c->len ? (size_t)n : sizeof(c->in) - c->len;
			memcpy(c->in + c->len, buf, take);
			c->len += take;
			char *end = memmem(c->in, c->len, "\r\n\r\n", 4);
			if (end == NULL)
				continue;
			off = (size_t)(end + 4 - c->in) - (c->len - take);
			c->head_done = true;
		}
		sse_feed(c, buf + off, (size_t)n - off);
	}
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		c->closed = true;
		errors++;
	}
}

static void
send_request(struct conn *c)
{
	c->sent_ns = now_mono_ns();
	if (write_all(c->fd, request, strlen(request)) < 0) {
		c->closed = true;
		errors++;
	}
}

static void
on_reply(struct conn *c)
{
	ssize_t n;
	while ((n = read(c->fd, c->in + c->len, sizeof(c->in) - c->len)) > 0) {
		c->len += (size_t)n;
		for (;;) {
			char *end = memmem(c->in, c->len, "\r\n\r\n", 4);
			if (end == NULL)
				break;
			char *cl = memmem(c->in, (size_t)(end - c->in), "Content-Length: ", 16);
			size_t head = (size_t)(end + 4 - c->in), body = cl ? strtoul(cl + 16, NULL, 10) : 0;
			if (c->len < head + body)
				break;
			if (strncmp(c->in, "HTTP/1.1 200", 12) != 0)
				errors++;
			requests++;
			lat_add(&req_lat, (double)(now_mono_ns() - c->sent_ns) / 1e6);
			memmove(c->in, c->in + head + body, c->len - head - body);
			c->len -= head + body;
			send_request(c);
		}
	}
	if (n == 0 || (n < 0 && errno != EAGAIN) || c->len == sizeof(c->in)) {
		c->closed = true;
		errors++;
	}
}

int
main(int argc, char **argv)
{
	int port = 0, nsse = 200, nconn = 8, secs = 5, opt, ep = epoll_create1(0);
	const char *path = "/api/latest", *header = NULL;
	while ((opt = getopt(argc, argv, "p:s:c:d:u:H:")) != -1) {
		switch (opt) {
		case 'p':
			port = atoi(optarg);
			break;
		case 's':
			nsse = atoi(optarg);
			break;
		case 'c':
			nconn = atoi(optarg);
			break;
		case 'd':
			secs = atoi(optarg);
			break;
		case 'u':
			path = optarg;
			break;
		case 'H':
			header = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_web -p PORT [-s SSE] [-c CONNS] [-d S] [-u PATH] [-H HDR]\n");
			return 2;
		}
	}
	if (port <= 0)
		return 2;
	sse_lat.v = malloc(sizeof(double) * MAX_LAT);
	req_lat.v = malloc(sizeof(double) * MAX_LAT);
	struct conn *cs = calloc((size_t)(nsse + nconn), sizeof(*cs));
	char head[1024];
	snprintf(head, sizeof(head), "%s%s", header ? header : "", header ? "\r\n" : "");
	snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", path, head);
	int open_sse = 0;
	for (int i = 0; i < nsse + nconn; i++) {
		struct conn *c = &cs[i];
		c->sse = i < nsse;
		if ((c->fd = dial(port)) < 0) {
			c->closed = true;
			errors++;
			continue;
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
		if (c->sse) {
			char r[1100];
			snprintf(r, sizeof(r), "GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", head);
			write_all(c->fd, r, strlen(r));
			open_sse++;
		}
	}
	/* give the streams a moment to open, then the burst starts */
	int64_t start = now_mono_ns(), burst_at = start + NSEC_PER_SEC, end = burst_at + secs * NSEC_PER_SEC;
	bool bursting = false;
	while (now_mono_ns() < end) {
		struct epoll_event evs[256];
		if (!bursting && now_mono_ns() >= burst_at) {
			bursting = true;
			sse_lat.n = 0;
			for (int i = nsse; i < nsse + nconn; i++)
				if (!cs[i].closed)
					send_request(&cs[i]);
		}
		int n = epoll_wait(ep, evs, 256, 50);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c->closed)
				continue;
			if (c->sse)
				on_sse(c);
			else
				on_reply(c);
			if (c->closed)
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		}
	}
	uint64_t total = 0, minev = UINT64_MAX;
	int alive = 0;
	for (int i = 0; i < nsse; i++) {
		total += cs[i].events;
		if (cs[i].events < minev)
			minev = cs[i].events;
		alive += !cs[i].closed;
	}
	printf("{\"sse_clients\":%d,\"sse_alive\":%d,\"sse_events\":%llu,\"sse_min_events\":%llu,"
	       "\"sse_p50_ms\":%.2f,\"sse_p99_ms\":%.2f,\"requests\":%llu,\"rps\":%.0f,"
	       "\"req_p50_ms\":%.3f,\"req_p99_ms\":%.3f,\"errors\":%llu,\"seconds\":%d}\n",
	       open_sse, alive, (unsigned long long)total,
	       (unsigned long long)(nsse ? minev : 0), pct(&sse_lat, 0.5), pct(&sse_lat, 0.99),
	       (unsigned long long)requests, (double)requests / secs, pct(&req_lat, 0.5),
	       pct(&req_lat, 0.99), (unsigned long long)errors, secs);
	for (int i = 0; i < nsse + nconn; i++)
		if (cs[i].fd > 0)
			close(cs[i].fd);
	close(ep);
	free(cs);
	free(sse_lat.v);
	free(req_lat.v);
	return 0;
}
