/*
 * The HTTP client on the loop against a loopback listener in a thread of
 * the test (127.0.0.1, an ephemeral port) that reads each request and
 * answers scripted bytes: statuses and their headers, Content-Length and
 * chunked bodies, a gzip body each way, the byte counts; a refused
 * connection, a server that closes mid-reply, one that is slow past the
 * deadline; body_max; cancel; and the CLI's blocking fetch.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gz.h"
#include "httpc.h"
#include "t.h"
#include "util.h"

#define MAX_CONNS 8

/* What the server answers on its n-th connection. */
struct step {
	const char *head; /* status line and headers, "\r\n" between, none at the end */
	const void *body; /* sent after the head and a blank line */
	size_t body_len;
	int delay_ms; /* before answering */
	bool cut;     /* close after half of the body */
};

struct server {
	int fd;
	int port;
	pthread_t thread;
	const struct step *steps;
	int nsteps;
	int served;
	struct buf req[MAX_CONNS]; /* each request as it arrived, until server_free */
};

static size_t
content_length(const char *req, size_t head_len)
{
	const char *p = req;
	while (p < req + head_len) {
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			return (size_t)strtoul(p + 15, NULL, 10);
		const char *nl = memchr(p, '\n', (size_t)(req + head_len - p));
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return 0;
}

static void
read_request(int c, struct buf *b)
{
	char chunk[4096];
	ssize_t n;
	while ((n = read(c, chunk, sizeof(chunk))) > 0) {
		buf_append(b, chunk, (size_t)n);
		const char *end = memmem(b->p, b->len, "\r\n\r\n", 4);
		if (end == NULL)
			continue;
		size_t head = (size_t)(end - b->p) + 4;
		if (b->len >= head + content_length(b->p, head))
			return;
	}
}

static void
answer(int c, const struct step *s)
{
	struct buf out;
	buf_init(&out);
	buf_printf(&out, "%s\r\n\r\n", s->head);
	if (s->body_len > 0)
		buf_append(&out, s->body, s->cut ? s->body_len / 2 : s->body_len);
	if (s->delay_ms > 0)
		usleep((useconds_t)s->delay_ms * 1000);
	if (send(c, out.p, out.len, MSG_NOSIGNAL) < 0) {
		/* the client gave up first: nothing to answer */
	}
	buf_free(&out);
}

static void *
server_main(void *arg)
{
	struct server *sv = arg;
	for (int i = 0; i < sv->nsteps; i++) {
		struct pollfd p = {.fd = sv->fd, .events = POLLIN};
		if (poll(&p, 1, 5000) != 1)
			break; /* the client never came: the test says so */
		int c = accept(sv->fd, NULL, NULL);
		if (c < 0)
			break;
		read_request(c, &sv->req[i]);
		buf_str(&sv->req[i]);
		answer(c, &sv->steps[i]);
		shutdown(c, SHUT_WR);
		close(c);
		sv->served++;
	}
	return NULL;
}

static int
listen_loopback(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	CHECK_INT(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	CHECK_INT(listen(fd, MAX_CONNS), ==, 0);
	CHECK_INT(getsockname(fd, (struct sockaddr *)&a, &alen), ==, 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void
server_start(struct server *sv, const struct step *steps, int n)
{
	memset(sv, 0, sizeof(*sv));
	for (int i = 0; i < MAX_CONNS; i++)
		buf_init(&sv->req[i]);
	sv->steps = steps;
	sv->nsteps = n;
	sv->fd = listen_loopback(&sv->port);
	CHECK_INT(pthread_create(&sv->thread, NULL, server_main, sv), ==, 0);
}

/* After the thread has served its steps (or given up waiting). */
static void
server_stop(struct server *sv)
{
	pthread_join(sv->thread, NULL);
	close(sv->fd);
}

static void
server_free(struct server *sv)
{
	for (int i = 0; i < MAX_CONNS; i++)
		buf_free(&sv->req[i]);
}

/* ---- the client side ---- */

struct got {
	int calls;
	struct httpc_resp r;
	char body[HTTPC_BODY_MAX + 1];
};

static void
on_resp(const struct httpc_resp *r, void *arg)
{
	struct got *g = arg;
	g->calls++;
	g->r = *r;
	memcpy(g->body, r->body, r->body_len + 1);
	g->r.body = g->body;
}

static const struct httpc_opts OPTS = {.connect_timeout_ms = 2000, .timeout_ms = 5000};

/* One request on a loop of its own, run until the callback (or 10 s). */
static void
request(struct got *g, int port, const char *method, const void *body, size_t len,
	const struct httpc_opts *o)
{
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v2/write?bucket=b", port);
	struct loop *l = loop_new();
	struct httpc *h;
	CHECK(l != NULL);
	CHECK_INT(httpc_new(&h, l), ==, 0);
	memset(g, 0, sizeof(*g));
	CHECK(httpc_request(h, method, url, body, len, o, on_resp, g) != NULL);
	CHECK_INT(g->calls, ==, 0); /* never from inside the call */
	CHECK_INT(httpc_pending(h), ==, 1);
	int64_t deadline = now_mono_ns() + 10 * NSEC_PER_SEC;
	while (g->calls == 0 && now_mono_ns() < deadline)
		loop_once(l, 100 * NSEC_PER_MSEC);
	CHECK_INT(g->calls, ==, 1);
	CHECK_INT(httpc_pending(h), ==, 0);
	httpc_free(h);
	loop_free(l);
}

static const char *
header_in(const struct buf *req, const char *line)
{
	return memmem(req->p, req->len, line, strlen(line));
}

static void
test_httpc_statuses_and_headers(void)
{
	/* the answer's head and body; what the client reports of them */
	static const struct {
		const char *head, *body;
		int status;
		const char *version, *retry_after;
	} rows[] = {
	    {"HTTP/1.1 204 No Content\r\nX-Influxdb-Version: v2.7.1\r\nConnection: close", "", 204,
	     "v2.7.1", ""},
	    {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close", "ok", 200, "", ""},
	    {"HTTP/1.1 400 Bad Request\r\nContent-Length: 25\r\nConnection: close",
	     "{\"message\":\"bad line 3\"}\n", 400, "", ""},
	    {"HTTP/1.1 429 Too Many Requests\r\nretry-after:  30 \r\nContent-Length: 0\r\n"
	     "Connection: close",
	     "", 429, "", "30"},
	    {"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 4\r\n"
	     "Connection: close",
	     "busy", 503, "", "5"},
	    {"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close", "", 413,
	     "", ""},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct step step = {rows[i].head, rows[i].body, strlen(rows[i].body)};
		struct server sv;
		static struct got g;
		server_start(&sv, &step, 1);
		request(&g, sv.port, "POST", "m f=1i 1\n", 9, &OPTS);
		server_stop(&sv);
		CHECK_INT(g.r.status, ==, rows[i].status);
		CHECK_INT(g.r.curl_code, ==, CURLE_OK);
		CHECK_STR(g.r.body, rows[i].body);
		CHECK_INT(g.r.body_len, ==, strlen(rows[i].body));
		CHECK_STR(g.r.version, rows[i].version);
		CHECK_STR(g.r.retry_after, rows[i].retry_after);
		/* the counts are the bytes on the wire, each way */
		CHECK_INT(g.r.recv_bytes, ==, strlen(rows[i].head) + 4 + strlen(rows[i].body));
		CHECK_INT(g.r.sent_bytes, ==, sv.req[0].len);
		CHECK_INT(sv.served, ==, 1);
		server_free(&sv);
	}
}

static void
test_httpc_sends_the_body_and_headers_as_given(void)
{
	static const char lines[] = "battery,vehicle=leaf soc=81.5 1760000000000000000\n"
				    "battery,vehicle=leaf soc=81.4 1760000001000000000\n";
	struct buf gz, plain;
	buf_init(&gz);
	buf_init(&plain);
	CHECK_INT(gz_compress(&gz, lines, sizeof(lines) - 1, 6), ==, 0);
	static const struct step ok = {"HTTP/1.1 204 No Content\r\nConnection: close"};
	const char *const hdrs[] = {"Authorization: Token t0k", "Content-Encoding: gzip", "", NULL};
	struct httpc_opts o = OPTS;
	o.headers = hdrs;
	struct server sv;
	static struct got g;
	server_start(&sv, &ok, 1);
	request(&g, sv.port, "POST", gz.p, gz.len, &o);
	server_stop(&sv);
	CHECK_INT(g.r.status, ==, 204);
	const struct buf *req = &sv.req[0];
	CHECK(strncmp(req->p, "POST /api/v2/write?bucket=b HTTP/1.1\r\n", 38) == 0);
	CHECK(header_in(req, "\r\nAuthorization: Token t0k\r\n") != NULL);
	CHECK(header_in(req, "\r\nContent-Encoding: gzip\r\n") != NULL);
	CHECK(header_in(req, "\r\nUser-Agent: leafmon/") != NULL);
	CHECK(header_in(req, "Expect:") == NULL); /* no 100-continue round trip */
	char cl[48];
	snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", gz.len);
	CHECK(header_in(req, cl) != NULL);
	/* the body arrives as given, and is the lines once gunzipped */
	const char *body = memmem(req->p, req->len, "\r\n\r\n", 4) + 4;
	CHECK_INT(req->p + req->len - body, ==, gz.len);
	CHECK(memcmp(body, gz.p, gz.len) == 0);
	CHECK_INT(gz_decompress(&plain, body, gz.len), ==, 0);
	CHECK_INT(plain.len, ==, sizeof(lines) - 1);
	CHECK(memcmp(plain.p, lines, plain.len) == 0);
	CHECK_INT(g.r.sent_bytes, ==, req->len);
	server_free(&sv);
	buf_free(&gz);
	buf_free(&plain);

	/* a large body goes without waiting for 100-continue as well */
	size_t big_len = 3u << 20;
	char *big = malloc(big_len);
	CHECK(big != NULL);
	memset(big, 'x', big_len);
	server_start(&sv, &ok, 1);
	request(&g, sv.port, "POST", big, big_len, &OPTS);
	server_stop(&sv);
	free(big);
	CHECK_INT(g.r.status, ==, 204);
	CHECK(header_in(&sv.req[0], "Expect:") == NULL);
	CHECK_INT(g.r.sent_bytes, ==, sv.req[0].len);
	server_free(&sv);
}

static void
test_httpc_chunked_and_gzip_replies(void)
{
	static const char chunked[] = "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
	static const struct step ch = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
				       "Connection: close",
				       chunked, sizeof(chunked) - 1};
	struct server sv;
	static struct got g;
	server_start(&sv, &ch, 1);
	request(&g, sv.port, "GET", NULL, 0, &OPTS);
	server_stop(&sv);
	CHECK_INT(g.r.status, ==, 200);
	CHECK_STR(g.r.body, "hello, world");
	CHECK(strncmp(sv.req[0].p, "GET /api/v2/write?bucket=b HTTP/1.1\r\n", 37) == 0);
	CHECK(header_in(&sv.req[0], "Accept-Encoding") == NULL);
	server_free(&sv);

	/* compressed: any encoding curl decodes is asked for, and decoded */
	static const char csv[] = "_time,soc\n2025-10-09T08:53:20Z,81.5\n";
	struct buf gz;
	buf_init(&gz);
	CHECK_INT(gz_compress(&gz, csv, sizeof(csv) - 1, 0), ==, 0);
	char head[160];
	snprintf(head, sizeof(head),
		 "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n"
		 "Connection: close",
		 gz.len);
	struct step zs = {head, gz.p, gz.len};
	struct httpc_opts o = OPTS;
	o.compressed = true;
	server_start(&sv, &zs, 1);
	request(&g, sv.port, "GET", NULL, 0, &o);
	server_stop(&sv);
	CHECK_INT(g.r.status, ==, 200);
	CHECK_STR(g.r.body, csv);
	CHECK(header_in(&sv.req[0], "\r\nAccept-Encoding: ") != NULL);
	server_free(&sv);
	buf_free(&gz);
}

static void
test_httpc_refused_cut_and_slow(void)
{
	static struct got g;
	/* refused: a port that was just ours and is closed now */
	int port;
	close(listen_loopback(&port));
	request(&g, port, "POST", "x", 1, &OPTS);
	CHECK_INT(g.r.status, ==, 0);
	CHECK_INT(g.r.curl_code, ==, CURLE_COULDNT_CONNECT);
	CHECK(g.r.error[0] != '\0');
	CHECK_INT(g.r.recv_bytes, ==, 0);

	/* the server closes half way through a Content-Length body */
	static const char body[] = "0123456789012345678901234567890123456789";
	static const struct step cut = {"HTTP/1.1 200 OK\r\nContent-Length: 40", body, 40, 0, true};
	struct server sv;
	server_start(&sv, &cut, 1);
	request(&g, sv.port, "GET", NULL, 0, &OPTS);
	server_stop(&sv);
	server_free(&sv);
	CHECK_INT(g.r.status, ==, 0);
	CHECK_INT(g.r.curl_code, ==, CURLE_PARTIAL_FILE);
	CHECK(g.r.error[0] != '\0');

	/* headers that come after the deadline: timed out near it, not at the answer */
	static const struct step slow = {"HTTP/1.1 204 No Content\r\nConnection: close", NULL, 0,
					 1500};
	struct httpc_opts o = OPTS;
	o.timeout_ms = 300;
	server_start(&sv, &slow, 1);
	int64_t t0 = now_mono_ns();
	request(&g, sv.port, "POST", "x", 1, &o);
	int64_t took = now_mono_ns() - t0;
	server_stop(&sv);
	server_free(&sv);
	CHECK_INT(g.r.status, ==, 0);
	CHECK_INT(g.r.curl_code, ==, CURLE_OPERATION_TIMEDOUT);
	CHECK_INT(took, >=, 300 * NSEC_PER_MSEC);
	CHECK_INT(took, <, 1500 * NSEC_PER_MSEC);
}

static void
test_httpc_body_max(void)
{
	static char big[3000];
	memset(big, 'a', sizeof(big));
	static const struct step s = {
	    "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\nConnection: close", big, sizeof(big)};
	struct httpc_opts o = OPTS;
	o.body_max = 1000;
	struct server sv;
	static struct got g;
	/* counted only: the first body_max bytes kept, the status stands */
	server_start(&sv, &s, 1);
	request(&g, sv.port, "GET", NULL, 0, &o);
	server_stop(&sv);
	server_free(&sv);
	CHECK_INT(g.r.status, ==, 200);
	CHECK_INT(g.r.body_len, ==, 1000);
	CHECK(!g.r.too_large);
	CHECK_INT(g.r.recv_bytes, ==, strlen(s.head) + 4 + 3000);
	/* whole_body: the transfer is aborted and says why */
	o.whole_body = true;
	server_start(&sv, &s, 1);
	request(&g, sv.port, "GET", NULL, 0, &o);
	server_stop(&sv);
	server_free(&sv);
	CHECK(g.r.too_large);
	CHECK_INT(g.r.status, ==, 0);
	CHECK_INT(g.r.curl_code, ==, CURLE_WRITE_ERROR);
}

static void
never(const struct httpc_resp *r, void *arg)
{
	(*(int *)arg)++;
}

static void
test_httpc_cancel_and_free_call_nothing_back(void)
{
	static const struct step slow[2] = {
	    {"HTTP/1.1 204 No Content\r\nConnection: close", NULL, 0, 300},
	    {"HTTP/1.1 204 No Content\r\nConnection: close", NULL, 0, 300}};
	struct server sv;
	server_start(&sv, slow, 2);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ping", sv.port);
	struct loop *l = loop_new();
	struct httpc *h;
	int calls = 0;
	CHECK_INT(httpc_new(&h, l), ==, 0);
	struct httpc_req *a = httpc_request(h, "GET", url, NULL, 0, &OPTS, never, &calls);
	struct httpc_req *b = httpc_request(h, "GET", url, NULL, 0, &OPTS, never, &calls);
	CHECK(a != NULL && b != NULL);
	CHECK_INT(httpc_pending(h), ==, 2);
	for (int i = 0; i < 5; i++) /* both connected and sent */
		loop_once(l, 20 * NSEC_PER_MSEC);
	httpc_cancel(a);
	CHECK_INT(httpc_pending(h), ==, 1);
	httpc_free(h); /* b is still pending */
	int64_t until = now_mono_ns() + 500 * NSEC_PER_MSEC;
	while (now_mono_ns() < until)
		loop_once(l, 50 * NSEC_PER_MSEC);
	CHECK_INT(calls, ==, 0);
	loop_free(l);
	server_stop(&sv);
	server_free(&sv);
}

static void
test_httpc_fetch_blocks_for_the_answer(void)
{
	static const struct step s = {"HTTP/1.1 200 OK\r\nX-Influxdb-Version: v2.7.1\r\n"
				      "Content-Length: 16\r\nConnection: close",
				      "{\"status\":\"pass\"", 16};
	struct server sv;
	struct httpc_answer a;
	char url[64];
	server_start(&sv, &s, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", sv.port);
	CHECK_INT(httpc_fetch("GET", url, NULL, 0, &OPTS, &a), ==, 0);
	server_stop(&sv);
	server_free(&sv);
	CHECK_INT(a.status, ==, 200);
	CHECK_STR(a.version, "v2.7.1");
	CHECK_STR(buf_str(&a.body), "{\"status\":\"pass\"");
	httpc_answer_free(&a);
	/* nobody there: -1, and the reason */
	int port;
	close(listen_loopback(&port));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", port);
	CHECK_INT(httpc_fetch("GET", url, NULL, 0, &OPTS, &a), ==, -1);
	CHECK_INT(a.status, ==, 0);
	CHECK_INT(a.curl_code, ==, CURLE_COULDNT_CONNECT);
	CHECK(a.error[0] != '\0');
	CHECK_STR(buf_str(&a.body), "");
	httpc_answer_free(&a);
}

T_MAIN(T(test_httpc_statuses_and_headers), T(test_httpc_sends_the_body_and_headers_as_given),
       T(test_httpc_chunked_and_gzip_replies), T(test_httpc_refused_cut_and_slow),
       T(test_httpc_body_max), T(test_httpc_cancel_and_free_call_nothing_back),
       T(test_httpc_fetch_blocks_for_the_answer))
