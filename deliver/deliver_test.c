/*
 * The delivery state machine driven through its seam (deliver.h "struct
 * deliver_ops"): a fake transport that answers what each test says, a fake
 * clock, a fixed jitter and a temporary spool; no server, no socket, no
 * loop. Every row of DESIGN.md's HTTP status table, the sessions' missing
 * destination, the probe after a network error, pacing, retention and the
 * hold for the clock; and that nothing is lost on the way.
 */
#include <limits.h>
#include <stdlib.h>
#include <time.h>

#include "config.h"
#include "deliver.h"
#include "signals.h"
#include "spool.h"
#include "spool_payload.h"
#include "t.h"
#include "util.h"
#include "worker.h"

#define T_REAL (1760000000LL * NSEC_PER_SEC)
#define SEC NSEC_PER_SEC
#define MS NSEC_PER_MSEC

/* ---- the fake side of the seam ---- */

static struct fake {
	int64_t now[3]; /* by enum deliver_clock */
	double u;	/* the jitter */
	int64_t timer[DTIMER_COUNT];
	struct deliver *d;
	bool pending;
	char method[8], url[1600];
	struct buf body; /* what the request in flight carries */
	httpc_cb cb;
	void *arg;
	int requests, released;
	int64_t pace_wait; /* what the pacing callback answers, once */
	size_t sent_bytes;
} F;

static void *
f_request(void *ctx, const char *method, const char *url, const void *body, size_t len,
	  const struct httpc_opts *o, httpc_cb cb, void *arg)
{
	if (F.pending)
		t_fail(__FILE__, __LINE__, "a second request while one is in flight");
	F.pending = true;
	snprintf(F.method, sizeof(F.method), "%s", method);
	snprintf(F.url, sizeof(F.url), "%s", url);
	buf_reset(&F.body);
	buf_append(&F.body, body, len);
	F.cb = cb;
	F.arg = arg;
	F.requests++;
	return &F;
}

static int64_t
f_now(void *ctx, enum deliver_clock c)
{
	return F.now[c];
}

static double
f_jitter(void *ctx)
{
	return F.u;
}

static void
f_timer(void *ctx, enum deliver_timer t, int64_t deadline)
{
	F.timer[t] = deadline;
}

static void
f_release(void *ctx)
{
	F.released++;
	F.pending = false;
}

static const struct deliver_ops fake = {f_request, f_now, f_jitter, f_timer, f_release};

static int64_t
f_pace(void *arg, size_t bytes)
{
	int64_t w = F.pace_wait;
	F.pace_wait = 0;
	return w;
}

static void
f_sent(void *arg, size_t bytes, size_t wire)
{
	F.sent_bytes += bytes;
}

/* The loop's part: run the timers that are due (the next batch's slices). */
static void
run_due(void)
{
	for (int guard = 0; guard < 100000; guard++) {
		int t = 0;
		while (t < DTIMER_COUNT && (F.timer[t] == 0 || F.timer[t] > F.now[DCLOCK_MONO]))
			t++;
		if (t == DTIMER_COUNT)
			return;
		F.timer[t] = 0;
		deliver_on_timer(F.d, (enum deliver_timer)t);
	}
	t_fail(__FILE__, __LINE__, "timers keep firing");
}

static void
advance(int64_t ns)
{
	for (int c = 0; c < 3; c++)
		F.now[c] += ns;
	run_due();
}

/* How long until the wait timer fires; -1 when it is not armed. */
static int64_t
wait_left(void)
{
	return F.timer[DTIMER_WAIT] ? F.timer[DTIMER_WAIT] - F.now[DCLOCK_MONO] : -1;
}

static void
wait_out(void)
{
	CHECK(F.timer[DTIMER_WAIT] != 0);
	advance(wait_left());
}

struct reply {
	const char *body, *retry_after, *version, *error;
	int curl_code;
};

/* The server answers the request in flight (after a few turns of the loop). */
static void
answer_with(int status, const struct reply *rp)
{
	static const struct reply none;
	if (rp == NULL)
		rp = &none;
	if (!F.pending)
		t_fail(__FILE__, __LINE__, "no request to answer (status %d)", status);
	run_due();
	struct httpc_resp r = {.status = status,
			       .curl_code = rp->curl_code,
			       .body = rp->body ? rp->body : "",
			       .body_len = rp->body ? strlen(rp->body) : 0,
			       .seconds = 0.02,
			       .sent_bytes = F.body.len + 200,
			       .recv_bytes = 150};
	snprintf(r.error, sizeof(r.error), "%s", rp->error ? rp->error : "");
	snprintf(r.retry_after, sizeof(r.retry_after), "%s",
		 rp->retry_after ? rp->retry_after : "");
	snprintf(r.version, sizeof(r.version), "%s", rp->version ? rp->version : "");
	F.pending = false;
	F.cb(&r, F.arg);
}

static void
answer(int status, const char *body)
{
	struct reply r = {.body = body};
	answer_with(status, &r);
}

/* Lines of the request in flight. */
static int
body_lines(void)
{
	int n = 0;
	for (size_t i = 0; i < F.body.len; i++)
		n += F.body.p[i] == '\n';
	return n;
}

/* Line k (0-based) of the request in flight, without its '\n'. */
static const char *
body_line(int k, char *out, size_t cap)
{
	const char *p = F.body.p, *end = F.body.p + F.body.len;
	for (; k > 0 && p < end; k--)
		p = memchr(p, '\n', (size_t)(end - p)) + 1;
	const char *e = memchr(p, '\n', (size_t)(end - p));
	snprintf(out, cap, "%.*s", (int)(e - p), p);
	return out;
}

static bool
body_has(const char *s)
{
	return strstr(buf_str(&F.body), s) != NULL;
}

/* ---- the spool and the writer's settings ---- */

struct env {
	char *dir;
	char dlpath[PATH_MAX];
	struct config cfg;
	struct deliver_opts o;
	struct spool *sp;
	struct deliver *d;
	int nsamples;
	struct heartbeat hb;
};

static void
env_init(struct env *e, int api)
{
	char err[256];
	buf_free(&F.body);
	memset(&F, 0, sizeof(F));
	buf_init(&F.body);
	F.now[DCLOCK_MONO] = 5000 * SEC;
	F.now[DCLOCK_REAL] = T_REAL;
	F.now[DCLOCK_BOOT] = 400000 * SEC;
	F.u = 0.5;
	memset(e, 0, sizeof(*e));
	e->dir = t_tmpdir();
	snprintf(e->dlpath, sizeof(e->dlpath), "%s/t-deadletter.lp", e->dir);
	config_defaults(&e->cfg);
	struct cfg_writer *w = &e->cfg.influx;
	snprintf(w->url, sizeof(w->url), "http://influx.test:8086");
	w->api = api;
	snprintf(w->database, sizeof(w->database), "leaf");
	snprintf(w->bucket, sizeof(w->bucket), "leaf");
	snprintf(w->org, sizeof(w->org), "home");
	e->o = (struct deliver_opts){
	    .name = "t", .w = w, .vehicle = "leaf", .deadletter_path = e->dlpath, .sent = f_sent};
	char sdir[PATH_MAX];
	snprintf(sdir, sizeof(sdir), "%s/spool", e->dir);
	struct spool_opts so = {.dir = sdir, .name = "t", .max_bytes = 64u << 20};
	if (spool_open(&e->sp, &so, err, sizeof(err)) < 0)
		t_fail(__FILE__, __LINE__, "spool: %s", err);
}

static void
env_start(struct env *e)
{
	CHECK(deliver_open(&e->d, e->sp, &e->o, &fake, NULL) == 0);
	F.d = e->d;
}

static void
env_end(struct env *e)
{
	deliver_free(e->d);
	CHECK_INT(F.released, ==, 1);
	spool_close(e->sp);
	buf_free(&F.body);
}

/* n samples of one line each (battery voltage 300.0, 301.0, ...), age_ns old. */
static void
add_samples_aged(struct env *e, int n, int64_t age_ns, bool synced)
{
	struct buf b;
	uint64_t rid;
	buf_init(&b);
	for (int i = 0; i < n; i++, e->nsamples++) {
		struct spool_value v = {SIG_battery_voltage_v, SPK_VALUE, 300 + e->nsamples};
		struct spool_meta m = {F.now[DCLOCK_REAL] - age_ns + e->nsamples * MS,
				       F.now[DCLOCK_BOOT] - age_ns + e->nsamples * MS, synced};
		buf_reset(&b);
		CHECK(spool_payload_encode(&b, &v, 1) == 0);
		CHECK(spool_append(e->sp, &m, b.p, b.len, &rid) == 0);
	}
	CHECK(spool_commit(e->sp, NULL, 0) == 0);
	buf_free(&b);
}

static void
add_samples(struct env *e, int n)
{
	add_samples_aged(e, n, 60 * SEC, true);
}

static void
add_session(struct env *e, const char *kind, const char *detail)
{
	struct buf b;
	uint64_t rid;
	struct spool_event ev = {.kind = kind,
				 .kind_len = strlen(kind),
				 .phase = 2,
				 .start_delta_ns = -3600 * SEC,
				 .detail = detail,
				 .detail_len = strlen(detail)};
	struct spool_meta m = {F.now[DCLOCK_REAL] - 30 * SEC, F.now[DCLOCK_BOOT] - 30 * SEC, true};
	buf_init(&b);
	CHECK(spool_event_encode(&b, &ev) == 0);
	CHECK(spool_append(e->sp, &m, b.p, b.len, &rid) == 0);
	CHECK(spool_commit(e->sp, NULL, 0) == 0);
	buf_free(&b);
}

/* The common start: n samples spooled, the first request in flight. */
static void
start(struct env *e, int api, int n)
{
	env_init(e, api);
	env_start(e);
	add_samples(e, n);
	deliver_kick(e->d);
}

static uint64_t
queued(struct env *e)
{
	struct spool_stats st;
	spool_stats(e->sp, &st);
	return st.queued_records;
}

static uint64_t
delivered(struct env *e)
{
	return spool_ledger(e->sp)->delivered;
}

static const struct deliver_stats *
stats(struct env *e)
{
	return deliver_stats(e->d);
}

/* Is alert `code` up? */
static bool
alert(struct env *e, const char *code)
{
	memset(&e->hb, 0, sizeof(e->hb));
	deliver_alerts(e->d, &e->hb);
	for (int i = 0; i < e->hb.nalerts; i++)
		if (strcmp(e->hb.alerts[i].code, code) == 0)
			return true;
	return false;
}

/* The dead-letter file's lines that are not headers; *text gets it all. */
static int
dead_lines(struct env *e, char **text)
{
	size_t len;
	char *s = file_read_str(e->dlpath, 1 << 20, &len);
	int n = 0;
	*text = s;
	if (s == NULL)
		return 0;
	for (char *p = s; *p != '\0';) {
		char *nl = strchr(p, '\n');
		n += *p != '#';
		p = nl != NULL ? nl + 1 : p + strlen(p);
	}
	return n;
}

static void
check_dead(struct env *e, int n, const char *header, const char *line)
{
	char *text;
	CHECK_INT(dead_lines(e, &text), ==, n);
	CHECK_INT(spool_ledger(e->sp)->dead_lettered, ==, n);
	CHECK_INT(stats(e)->lines_dead, ==, n);
	if (header != NULL && (text == NULL || strstr(text, header) == NULL))
		t_fail(__FILE__, __LINE__, "dead letters lack \"%s\": %s", header,
		       text ? text : "");
	if (line != NULL && (text == NULL || strstr(text, line) == NULL))
		t_fail(__FILE__, __LINE__, "dead letters lack \"%s\": %s", line, text ? text : "");
	free(text);
}

/* ---- 2xx ---- */

static void
test_deliver_2xx_acks_and_removes(void)
{
	struct env e;
	start(&e, API_V1, 5);
	CHECK(F.pending);
	CHECK_STR(F.method, "POST");
	CHECK(strstr(F.url, "/write?db=leaf") != NULL);
	CHECK_INT(body_lines(), ==, 5);
	CHECK(body_has("voltage_v=300.0") && body_has("voltage_v=304.0"));
	size_t bytes = F.body.len;
	answer(204, NULL);
	CHECK_INT(queued(&e), ==, 0);
	CHECK_INT(delivered(&e), ==, 5);
	CHECK_INT(stats(&e)->ok, ==, 1);
	CHECK_INT(stats(&e)->lines_ok, ==, 5);
	CHECK_INT(F.sent_bytes, ==, bytes);
	CHECK_INT(spool_ledger(e.sp)->last_success, ==, T_REAL / SEC);
	CHECK_INT(wait_left(), ==, -1);
	CHECK(!F.pending); /* nothing more to send */
	add_samples(&e, 2);
	deliver_kick(e.d);
	CHECK_INT(body_lines(), ==, 2);
	answer(200, NULL); /* any 2xx */
	CHECK_INT(queued(&e), ==, 0);
	CHECK_INT(delivered(&e), ==, 7);
	CHECK_INT(F.requests, ==, 2);
	check_dead(&e, 0, NULL, NULL);
	env_end(&e);
}

/* ---- 413 ---- */

static void
test_deliver_413_halves_the_request(void)
{
	struct env e;
	start(&e, API_V1, 4);
	CHECK_INT(body_lines(), ==, 4);
	answer(413, "{\"error\":\"Request Entity Too Large\"}");
	CHECK_INT(wait_left(), ==, -1); /* at once, no backoff */
	CHECK_INT(body_lines(), ==, 2);
	CHECK(body_has("voltage_v=300.0") && body_has("voltage_v=301.0"));
	answer(204, NULL);
	CHECK_INT(body_lines(), ==, 2);
	CHECK(body_has("voltage_v=302.0") && body_has("voltage_v=303.0"));
	answer(204, NULL);
	CHECK_INT(delivered(&e), ==, 4);
	CHECK_INT(queued(&e), ==, 0);
	CHECK_INT(stats(&e)->split, ==, 1);
	CHECK_INT(stats(&e)->bisections, ==, 0);
	CHECK_INT(stats(&e)->rejected, ==, 0);
	CHECK_INT(F.requests, ==, 3);
	check_dead(&e, 0, NULL, NULL);
	env_end(&e);
}

/* A server that refuses every request holding line `bad` until it is alone:
 * split (413) or bisected (400 naming nothing) down to it; while no line of
 * the batch was stored it is held (the request may be at fault), once
 * another was it is dead-lettered and the rest delivered. */
static void
test_deliver_refused_until_alone(void)
{
	static const struct {
		const char *what;
		int status, n, bad;
		const char *body, *header;
		uint64_t split, bisections;
	} rows[] = {
	    {"413: a line too large alone", 413, 3, 2, NULL,
	     "HTTP 413, 1 line: 413: a single line is larger", 3, 0},
	    {"400 naming nothing: bisected 8 -> 4 -> 2 -> 1", 400, 8, 5,
	     "{\"error\":\"bad request\"}", "HTTP 400, 1 line: bad request", 0, 3},
	    {"400 for the first line: held, then convicted", 400, 8, 0,
	     "{\"error\":\"bad request\"}", "HTTP 400, 1 line: bad request", 0, 3},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct env e;
		char bad[256];
		printf("     %s\n", rows[i].what);
		start(&e, API_V1, rows[i].n);
		body_line(rows[i].bad, bad, sizeof(bad));
		int dead_before_ok = -1;
		for (int guard = 0; F.pending && guard < 40; guard++) {
			bool refuse = body_has(bad);
			if (!refuse && dead_before_ok < 0)
				dead_before_ok = (int)stats(&e)->lines_dead;
			answer(refuse ? rows[i].status : 204, rows[i].body);
		}
		CHECK(!F.pending);
		CHECK_INT(dead_before_ok, ==, 0); /* held, not dead, while nothing was stored */
		CHECK_INT(queued(&e), ==, 0);
		CHECK_INT(delivered(&e), ==, rows[i].n - 1);
		CHECK_INT(stats(&e)->lines_ok, ==, rows[i].n - 1);
		CHECK_INT(stats(&e)->split, ==, rows[i].split);
		CHECK_INT(stats(&e)->bisections, ==, rows[i].bisections);
		check_dead(&e, 1, rows[i].header, bad);
		CHECK(!alert(&e, "rejected"));
		env_end(&e);
	}
}

/* ---- 400/422 ---- */

/* 1.x says what it could not store and stores the rest: no resend. The
 * message may name the line (%s: line `bad`) or only count it (dropped=). */
static void
test_deliver_400_v1_partial_writes(void)
{
	static const struct {
		const char *what;
		int n, bad;
		const char *msg, *header, *line;
		int dead;
	} rows[] = {
	    {"a line named", 4, 1,
	     "{\"error\":\"partial write: unable to parse '%s': invalid field format dropped=0\"}",
	     "HTTP 400, 1 line: partial write: unable to parse", NULL, 1},
	    {"a type conflict naming field and measurement", 3, -1,
	     "{\"error\":\"partial write: field type conflict: input field \\\"voltage_v\\\" "
	     "on measurement \\\"battery\\\" is type float, already exists as type integer "
	     "dropped=3\"}",
	     "field type conflict", "voltage_v=302.0", 3},
	    {"every line dropped (beyond the retention policy)", 2, -1,
	     "{\"error\":\"partial write: points beyond retention policy dropped=2\"}",
	     "points beyond retention policy", "voltage_v=301.0", 2},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct env e;
		char bad[256] = "", msg[600];
		printf("     %s\n", rows[i].what);
		start(&e, API_V1, rows[i].n);
		if (rows[i].bad >= 0)
			body_line(rows[i].bad, bad, sizeof(bad));
		snprintf(msg, sizeof(msg), rows[i].msg, bad);
		answer(400, msg);
		CHECK(!F.pending); /* the rest was stored */
		CHECK_INT(queued(&e), ==, 0);
		CHECK_INT(delivered(&e), ==, rows[i].n - rows[i].dead);
		CHECK_INT(stats(&e)->rejected, ==, 1);
		CHECK_INT(spool_ledger(e.sp)->last_error_code, ==, 400);
		check_dead(&e, rows[i].dead, rows[i].header, rows[i].line ? rows[i].line : bad);
		CHECK(!alert(&e, "rejected"));
		env_end(&e);
	}
}

/* 2.x names line numbers and stores nothing: the rest goes again. */
static void
check_v2_line_number(int status)
{
	struct env e;
	char bad[256];
	start(&e, API_V2, 4);
	CHECK(strstr(F.url, "/api/v2/write?org=home&bucket=leaf") != NULL);
	body_line(2, bad, sizeof(bad));
	answer(status, "{\"code\":\"invalid\",\"message\":\"failed to parse line protocol: "
		       "errors encountered on line(s): line 3: invalid field format\"}");
	CHECK(F.pending);
	CHECK_INT(body_lines(), ==, 3);
	CHECK(!body_has(bad));
	CHECK(body_has("voltage_v=300.0") && body_has("voltage_v=303.0"));
	answer(204, NULL);
	CHECK_INT(queued(&e), ==, 0);
	CHECK_INT(delivered(&e), ==, 3);
	check_dead(&e, 1, "line 3: invalid field format", bad);
	env_end(&e);
}

static void
test_deliver_400_v2_line_number(void)
{
	check_v2_line_number(400);
}

static void
test_deliver_422_v2_line_number(void)
{
	check_v2_line_number(422);
}

/* Every line refused and none ever stored (a proxy's 400): keep all, alert, retry slowly. */
static void
test_deliver_400_for_every_line_keeps_and_alerts(void)
{
	struct env e;
	start(&e, API_V1, 2);
	for (int guard = 0; F.pending && guard < 10; guard++)
		answer(400, "{\"error\":\"bad request\"}");
	CHECK_INT(F.requests, ==, 3); /* both, then each alone */
	CHECK_INT(queued(&e), ==, 2);
	check_dead(&e, 0, NULL, NULL);
	CHECK(alert(&e, "rejected"));
	CHECK_INT(wait_left(), ==, 30 * SEC + 500 * MS); /* 30 s + full jitter of 1 s */
	deliver_kick(e.d);
	deliver_sync(e.d); /* neither cuts a slow retry short */
	CHECK(!F.pending);
	advance(wait_left() - 1);
	CHECK(!F.pending);
	advance(1);
	CHECK(F.pending);
	CHECK_INT(body_lines(), ==, 2);
	answer(204, NULL);
	CHECK_INT(queued(&e), ==, 0);
	CHECK_INT(delivered(&e), ==, 2);
	env_end(&e);
}

/* ---- 429, 5xx ---- */

static void
test_deliver_429_honours_retry_after(void)
{
	struct env e;
	struct reply r = {.body = "{\"error\":\"too many requests\"}", .retry_after = "7"};
	start(&e, API_V1, 3);
	struct buf first;
	buf_init(&first);
	buf_append(&first, F.body.p, F.body.len);
	answer_with(429, &r);
	CHECK_INT(wait_left(), ==, 7 * SEC);
	CHECK(alert(&e, "server_error"));
	CHECK_INT(stats(&e)->retried, ==, 1);
	CHECK_INT(spool_ledger(e.sp)->last_error_code, ==, 429);
	deliver_kick(e.d);
	deliver_sync(e.d); /* the server asked for the wait */
	CHECK(!F.pending);
	advance(7 * SEC - 1);
	CHECK(!F.pending);
	advance(1);
	CHECK(F.pending);
	CHECK_INT(F.body.len, ==, first.len); /* the same request again */
	CHECK(memcmp(F.body.p, first.p, first.len) == 0);
	r.retry_after = "3600"; /* capped at 10 min */
	answer_with(429, &r);
	CHECK_INT(wait_left(), ==, 600 * SEC);
	wait_out();
	char date[64];
	time_t at = (time_t)(F.now[DCLOCK_REAL] / SEC) + 20;
	struct tm tm;
	gmtime_r(&at, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	r.retry_after = date; /* an HTTP date, on the fake clock */
	answer_with(503, &r);
	CHECK_INT(wait_left(), ==, 20 * SEC);
	wait_out();
	answer(204, NULL);
	CHECK(!alert(&e, "server_error"));
	CHECK_INT(delivered(&e), ==, 3);
	CHECK_INT(queued(&e), ==, 0);
	check_dead(&e, 0, NULL, NULL);
	buf_free(&first);
	env_end(&e);
}

/* 5xx without Retry-After: 1 s..5 min, full jitter, reset by a success. */
static void
test_deliver_5xx_backs_off_with_full_jitter(void)
{
	struct env e;
	start(&e, API_V1, 2);
	static const int status[] = {500, 502, 503, 504};
	static const int64_t want[] = {500 * MS, 1 * SEC, 2 * SEC, 4 * SEC};
	for (int i = 0; i < 4; i++) {
		answer(status[i], "{\"error\":\"timeout\"}");
		CHECK_INT(wait_left(), ==, want[i]);
		CHECK_INT(queued(&e), ==, 2);
		wait_out();
		CHECK(F.pending);
	}
	answer(204, NULL);
	CHECK_INT(delivered(&e), ==, 2);
	add_samples(&e, 1);
	deliver_kick(e.d);
	answer(503, NULL);
	CHECK_INT(wait_left(), ==, 500 * MS); /* the success reset the backoff */
	wait_out();
	F.u = 0;
	answer(503, NULL);
	CHECK_INT(wait_left(), ==, 100 * MS); /* never less than 100 ms */
	wait_out();
	answer(204, NULL);
	CHECK_INT(queued(&e), ==, 0);
	CHECK_INT(stats(&e)->retried, ==, 6);
	env_end(&e);
}

/* ---- 401/403, 404 ---- */

static void
test_deliver_401_403_keep_alert_retry_slowly(void)
{
	struct env e;
	start(&e, API_V2, 3);
	answer(401, "{\"code\":\"unauthorized\",\"message\":\"unauthorized access\"}");
	CHECK(alert(&e, "auth"));
	CHECK_INT(wait_left(), ==, 30 * SEC + 500 * MS);
	CHECK_INT(queued(&e), ==, 3);
	CHECK_INT(spool_ledger(e.sp)->last_error_code, ==, 401);
	deliver_sync(e.d);
	CHECK(!F.pending);
	wait_out();
	CHECK_INT(body_lines(), ==, 3);
	answer(403, "{\"code\":\"forbidden\",\"message\":\"insufficient permissions\"}");
	CHECK_INT(wait_left(), ==, 30 * SEC + 1 * SEC); /* the jitter's range doubled */
	CHECK_INT(stats(&e)->auth, ==, 2);
	wait_out();
	answer(204, NULL);
	CHECK(!alert(&e, "auth"));
	CHECK_INT(queued(&e), ==, 0);
	CHECK_INT(delivered(&e), ==, 3);
	check_dead(&e, 0, NULL, NULL);
	env_end(&e);
}

/* api = auto: /ping settles the API; a 404 keeps, alerts and asks /ping again. */
static void
test_deliver_404_keeps_alerts_and_probes_again(void)
{
	struct env e;
	struct reply v1 = {.version = "1.8.10"}, v2 = {.version = "v2.7.4"};
	start(&e, API_AUTO, 2);
	CHECK_STR(F.method, "GET");
	CHECK_STR(F.url, "http://influx.test:8086/ping");
	answer_with(204, &v1);
	CHECK_INT(stats(&e)->api, ==, API_V1);
	CHECK_STR(F.method, "POST");
	CHECK(strstr(F.url, "/write?db=leaf") != NULL);
	answer(404, "{\"error\":\"database not found: \\\"leaf\\\"\"}");
	CHECK(alert(&e, "not_found"));
	CHECK_INT(wait_left(), ==, 30 * SEC + 500 * MS);
	CHECK_INT(queued(&e), ==, 2);
	wait_out();
	CHECK_STR(F.method, "GET"); /* a different server may answer now */
	answer_with(204, &v2);
	CHECK_INT(stats(&e)->api, ==, API_V2);
	CHECK(strstr(F.url, "/api/v2/write?org=home&bucket=leaf") != NULL);
	answer(204, NULL);
	CHECK(!alert(&e, "not_found"));
	CHECK_INT(stats(&e)->not_found, ==, 1);
	CHECK_INT(stats(&e)->pings, ==, 2);
	CHECK_INT(delivered(&e), ==, 2);
	env_end(&e);
}

/* ---- no answer ---- */

static void
test_deliver_network_error_backs_off_and_probes(void)
{
	struct env e;
	struct reply timeout = {.curl_code = 28, .error = "Operation timed out after 10000 ms"};
	struct reply refused = {.curl_code = 7, .error = "Failed to connect: Connection refused"};
	start(&e, API_V1, 2);
	answer_with(0, &timeout);
	CHECK(alert(&e, "unreachable"));
	CHECK_INT(wait_left(), ==, 500 * MS);
	CHECK_INT(spool_ledger(e.sp)->last_error_code, ==, -28);
	wait_out();
	CHECK_STR(F.method, "GET"); /* a probe before the next write */
	answer_with(0, &refused);
	CHECK_INT(wait_left(), ==, 1 * SEC);
	CHECK_INT(spool_ledger(e.sp)->last_error_code, ==, -7);
	deliver_kick(e.d);
	CHECK(!F.pending);
	deliver_sync(e.d); /* the link came back: a network backoff is cut short */
	CHECK_INT(wait_left(), ==, -1);
	CHECK_STR(F.method, "GET");
	answer(204, NULL);
	CHECK(!alert(&e, "unreachable"));
	CHECK_STR(F.method, "POST");
	CHECK_INT(body_lines(), ==, 2);
	answer(204, NULL);
	CHECK_INT(stats(&e)->network, ==, 2);
	CHECK_INT(stats(&e)->rounds, ==, 1);
	CHECK_INT(delivered(&e), ==, 2);
	CHECK_INT(queued(&e), ==, 0);
	env_end(&e);
}

/* The backoff's range doubles up to net_backoff_max_ns (60 s). */
static void
test_deliver_network_backoff_is_capped(void)
{
	struct env e;
	struct reply refused = {.curl_code = 7, .error = "Connection refused"};
	start(&e, API_V1, 1);
	F.u = 0.999999;
	int64_t last = 0;
	for (int i = 0; i < 9; i++) {
		answer_with(0, &refused);
		last = wait_left();
		wait_out();
	}
	CHECK(last > 59 * SEC && last < 60 * SEC);
	CHECK_INT(queued(&e), ==, 1);
	env_end(&e);
}

/* ---- the sessions' destination missing ---- */

static void
test_deliver_500_retention_policy_not_found_defers_sessions(void)
{
	struct env e;
	env_init(&e, API_V1);
	env_start(&e);
	add_samples(&e, 2);
	add_session(&e, "charge", "{\"kwh\":4.5}");
	deliver_kick(e.d);
	CHECK(strstr(F.url, "rp=forever") == NULL); /* samples first, their own request */
	CHECK_INT(body_lines(), ==, 2);
	answer(204, NULL);
	CHECK(strstr(F.url, "rp=forever") != NULL);
	CHECK(body_has("charge,vehicle=leaf"));
	answer(500, "{\"error\":\"retention policy not found: forever\"}");
	CHECK(alert(&e, "sessions_not_found"));
	CHECK_INT(stats(&e)->not_found, ==, 1);
	CHECK_INT(queued(&e), ==, 1);	/* kept, unacknowledged */
	CHECK_INT(wait_left(), ==, -1); /* samples go on */
	add_samples(&e, 2);
	deliver_kick(e.d);
	CHECK(strstr(F.url, "rp=forever") == NULL);
	CHECK_INT(body_lines(), ==, 2);
	answer(204, NULL);
	CHECK(!F.pending);
	CHECK_INT(queued(&e), ==, 1);
	advance(30 * SEC + 500 * MS); /* the sessions' slow retry */
	deliver_kick(e.d);
	CHECK(strstr(F.url, "rp=forever") != NULL);
	CHECK(body_has("kwh=4.5"));
	answer(204, NULL);
	CHECK(!alert(&e, "sessions_not_found"));
	CHECK_INT(queued(&e), ==, 0);
	CHECK_INT(delivered(&e), ==, 5);
	env_end(&e);
}

static void
test_deliver_404_sessions_bucket_defers_sessions(void)
{
	struct env e;
	env_init(&e, API_V2);
	env_start(&e);
	add_session(&e, "trip", "{\"km\":12.5}");
	add_samples(&e, 1);
	deliver_kick(e.d);
	CHECK(strstr(F.url, "&bucket=leaf-sessions&") != NULL);
	answer(404,
	       "{\"code\":\"not found\",\"message\":\"bucket \\\"leaf-sessions\\\" not found\"}");
	CHECK(alert(&e, "sessions_not_found"));
	CHECK(!alert(&e, "not_found"));
	CHECK(strstr(F.url, "&bucket=leaf&") != NULL); /* the samples go on */
	CHECK(!body_has("trip"));
	answer(204, NULL);
	CHECK_INT(queued(&e), ==, 1);
	CHECK_INT(delivered(&e), ==, 1);
	env_end(&e);
}

/* ---- pacing, retention, the clock ---- */

static void
test_deliver_pacing_waits_before_the_write(void)
{
	struct env e;
	env_init(&e, API_V1);
	e.o.pace_wait = f_pace;
	env_start(&e);
	add_samples(&e, 2);
	F.pace_wait = 5 * SEC;
	deliver_kick(e.d);
	CHECK(!F.pending);
	CHECK_INT(wait_left(), ==, 5 * SEC);
	deliver_sync(e.d); /* pacing is not cut short */
	CHECK(!F.pending);
	wait_out();
	CHECK(F.pending);
	answer(204, NULL);
	CHECK_INT(delivered(&e), ==, 2);
	env_end(&e);
}

static void
test_deliver_retention_drops_old_records(void)
{
	struct env e;
	env_init(&e, API_V1);
	e.o.max_age_ns = 86400 * SEC;
	env_start(&e);
	add_samples_aged(&e, 2, 2 * 86400 * SEC, true);
	add_samples(&e, 1);
	deliver_kick(e.d);
	CHECK_INT(body_lines(), ==, 1);
	CHECK(body_has("voltage_v=302.0"));
	answer(204, NULL);
	CHECK_INT(stats(&e)->records_expired, ==, 2);
	CHECK_INT(spool_ledger(e.sp)->dropped_policy, ==, 2);
	CHECK_INT(queued(&e), ==, 0);
	CHECK(alert(&e, "retention"));
	advance(3601 * SEC); /* shown for an hour after the last drop */
	CHECK(!alert(&e, "retention"));
	env_end(&e);
}

static void
test_deliver_holds_unsynced_records_for_the_clock(void)
{
	struct env e;
	env_init(&e, API_V1);
	e.o.hold_unsynced_ns = 60 * SEC;
	env_start(&e);
	add_samples_aged(&e, 1, 10 * SEC, false);
	deliver_kick(e.d);
	CHECK(!F.pending);
	CHECK(stats(&e)->holding);
	CHECK(alert(&e, "clock_unsynced"));
	advance(51 * SEC); /* the boot never synchronised: sent as taken, flagged */
	deliver_kick(e.d);
	CHECK(F.pending);
	CHECK(body_has("clock_unsynced=true"));
	answer(204, NULL);
	CHECK(!stats(&e)->holding);
	CHECK_INT(stats(&e)->records_unsynced, ==, 1);
	CHECK_INT(delivered(&e), ==, 1);
	env_end(&e);
}

/* Freed with a request in flight: cancelled, nothing acked, all sent again. */
static void
test_deliver_free_in_flight_loses_nothing(void)
{
	struct env e;
	start(&e, API_V1, 3);
	CHECK(F.pending);
	deliver_free(e.d);
	CHECK_INT(F.released, ==, 1);
	CHECK_INT(queued(&e), ==, 3);
	F.released = 0;
	env_start(&e);
	deliver_kick(e.d);
	CHECK_INT(body_lines(), ==, 3);
	answer(204, NULL);
	CHECK_INT(queued(&e), ==, 0);
	env_end(&e);
}

T_MAIN(T(test_deliver_2xx_acks_and_removes), T(test_deliver_413_halves_the_request),
       T(test_deliver_refused_until_alone), T(test_deliver_400_v1_partial_writes),
       T(test_deliver_400_v2_line_number), T(test_deliver_422_v2_line_number),
       T(test_deliver_400_for_every_line_keeps_and_alerts), T(test_deliver_429_honours_retry_after),
       T(test_deliver_5xx_backs_off_with_full_jitter),
       T(test_deliver_401_403_keep_alert_retry_slowly),
       T(test_deliver_404_keeps_alerts_and_probes_again),
       T(test_deliver_network_error_backs_off_and_probes),
       T(test_deliver_network_backoff_is_capped),
       T(test_deliver_500_retention_policy_not_found_defers_sessions),
       T(test_deliver_404_sessions_bucket_defers_sessions),
       T(test_deliver_pacing_waits_before_the_write), T(test_deliver_retention_drops_old_records),
       T(test_deliver_holds_unsynced_records_for_the_clock),
       T(test_deliver_free_in_flight_loses_nothing))
