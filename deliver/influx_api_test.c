/*
 * Tests for InfluxDB API helpers: detection, URLs, auth, the status table,
 * Retry-After, error texts, and finding the bad lines of a rejected batch
 * from the messages InfluxDB 1.6.7 actually sends (recorded in this file).
 */
#include <stdlib.h>

#include "influx_api.h"
#include "t.h"

static void
test_api_detect(void)
{
	CHECK_INT(influx_api_detect("1.6.7~rc0"), ==, API_V1);
	CHECK_INT(influx_api_detect("1.8.10"), ==, API_V1);
	CHECK_INT(influx_api_detect("v2.7.1"), ==, API_V2);
	CHECK_INT(influx_api_detect("2.0.0"), ==, API_V2);
	CHECK_INT(influx_api_detect("3.0.0-snapshot"), ==, API_V2);
	CHECK_INT(influx_api_detect(NULL), ==, API_V2);
	CHECK_INT(influx_api_detect("10.0"), ==, API_V2);
}

static void
test_write_urls_and_precision_names(void)
{
	struct config cfg;
	char url[512], err[256];
	CHECK(config_load_string(&cfg, "[influx]\nurl = http://127.0.0.1:8086/\ndatabase = my db\n"
				       "retention_policy = a&b\norg = leaf & co\nbucket = b/1\n"
				       "precision = us\n",
				 "t", err, sizeof(err)) == 0);
	CHECK(influx_write_url(url, sizeof(url), &cfg.influx, API_V1) == 0);
	CHECK_STR(url, "http://127.0.0.1:8086/write?db=my%20db&rp=a%26b&precision=u");
	CHECK(influx_write_url(url, sizeof(url), &cfg.influx, API_V2) == 0);
	CHECK_STR(url, "http://127.0.0.1:8086/api/v2/write?org=leaf%20%26%20co&bucket=b%2F1&precision=us");
	cfg.influx.retention_policy[0] = '\0';
	cfg.influx.precision = PREC_MS;
	CHECK(influx_write_url(url, sizeof(url), &cfg.influx, API_V1) == 0);
	CHECK_STR(url, "http://127.0.0.1:8086/write?db=my%20db&precision=ms");
	CHECK(influx_write_url(url, 20, &cfg.influx, API_V1) < 0);
	CHECK(influx_ping_url(url, sizeof(url), "https://x.example//") == 0);
	CHECK_STR(url, "https://x.example/ping");
}

static void
test_auth_header(void)
{
	char h[256];
	CHECK(influx_auth_header(h, sizeof(h), API_V2, "abc==") == 0);
	CHECK_STR(h, "Authorization: Token abc==");
	CHECK(influx_auth_header(h, sizeof(h), API_V1, "leaf:s3cret pass") == 0);
	CHECK_STR(h, "Authorization: Basic bGVhZjpzM2NyZXQgcGFzcw==");
	CHECK(influx_auth_header(h, sizeof(h), API_V1, "tok") == 0);
	CHECK_STR(h, "Authorization: Token tok");
	CHECK(influx_auth_header(h, sizeof(h), API_V2, "") == 0);
	CHECK_STR(h, "");
	CHECK(influx_auth_header(h, 10, API_V2, "longtoken") < 0);
}

static void
test_status_table(void)
{
	CHECK(influx_classify(204) == IA_OK);
	CHECK(influx_classify_text(500, "retention policy not found: forever") == IA_NOT_FOUND);
	CHECK(influx_classify_text(500, "timeout") == IA_RETRY);
	CHECK(influx_classify_text(400, "retention policy not found: x") == IA_REJECT);
	CHECK(influx_classify(200) == IA_OK);
	CHECK(influx_classify(413) == IA_SPLIT);
	CHECK(influx_classify(400) == IA_REJECT);
	CHECK(influx_classify(422) == IA_REJECT);
	CHECK(influx_classify(401) == IA_AUTH);
	CHECK(influx_classify(403) == IA_AUTH);
	CHECK(influx_classify(404) == IA_NOT_FOUND);
	CHECK(influx_classify(429) == IA_RETRY);
	CHECK(influx_classify(500) == IA_RETRY);
	CHECK(influx_classify(503) == IA_RETRY);
	CHECK(influx_classify(302) == IA_RETRY);
	CHECK(influx_classify(0) == IA_NETWORK);
}

static void
test_retry_after(void)
{
	time_t now = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */
	CHECK_INT(influx_retry_after("120", now), ==, 120);
	CHECK_INT(influx_retry_after(" 0", now), ==, 0);
	CHECK_INT(influx_retry_after("86400", now), ==, RETRY_AFTER_CAP_S);
	CHECK_INT(influx_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), ==, 30);
	CHECK_INT(influx_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), ==, 0);
	CHECK_INT(influx_retry_after("Thu, 22 Oct 2015 07:28:00 GMT", now), ==, RETRY_AFTER_CAP_S);
	CHECK_INT(influx_retry_after("soon", now), ==, -1);
	CHECK_INT(influx_retry_after("-5", now), ==, -1);
	CHECK_INT(influx_retry_after(NULL, now), ==, -1);
}

static void
test_error_text(void)
{
	char m[128];
	const char *v1 = "{\"error\":\"partial write: unable to parse 'x': \\\"bad\\\"\\nnext dropped=0\"}";
	influx_error_text(v1, strlen(v1), m, sizeof(m));
	CHECK_STR(m, "partial write: unable to parse 'x': \"bad\"\nnext dropped=0");
	const char *v2 = "{\"code\":\"invalid\",\"message\":\"unable to parse 'y': missing fields\"}";
	influx_error_text(v2, strlen(v2), m, sizeof(m));
	CHECK_STR(m, "unable to parse 'y': missing fields");
	influx_error_text("Service Unavailable\r\n", 21, m, sizeof(m));
	CHECK_STR(m, "Service Unavailable");
	influx_error_text(NULL, 0, m, sizeof(m));
	CHECK_STR(m, "");
}

static const char *L[] = {
    "battery,vehicle=a x=6.0 6000",
    "battery,vehicle=a x= 7000",
    "battery,vehicle=a y=8.0 8000",
    "bad line here",
};

static void
verdict(const char *msg, size_t n, bool *bad, struct influx_verdict *v)
{
	size_t lens[8];
	for (size_t i = 0; i < n; i++)
		lens[i] = strlen(L[i]);
	influx_bad_lines(msg, L, lens, n, bad, v);
}

static void
test_bad_lines_parse_errors_v1(void)
{
	bool bad[4];
	struct influx_verdict v;
	/* InfluxDB 1.6.7, verbatim: parse errors are not counted in dropped= */
	verdict("partial write: unable to parse 'battery,vehicle=a x= 7000': missing field value\n"
		"unable to parse 'bad line here': invalid field format dropped=0",
		4, bad, &v);
	CHECK(v.partial);
	CHECK_INT(v.dropped, ==, 0);
	CHECK_INT(v.identified, ==, 2);
	CHECK(!bad[0] && bad[1] && !bad[2] && bad[3]);
	CHECK(v.complete); /* lines 0 and 2 were stored: no resend */
}

static void
test_bad_lines_type_conflict_v1(void)
{
	const char *lines[] = {"battery,vehicle=a x=3i 3000", "battery,vehicle=a x=4.0 4000",
			       "battery,vehicle=a x=5i,y=1.0 5000", "motor,vehicle=a x=5i 5000",
			       "battery,vehicle=a\\ b y=\"s,x=1i\",x=2i 9"};
	size_t lens[5];
	bool bad[5];
	struct influx_verdict v;
	for (int i = 0; i < 5; i++)
		lens[i] = strlen(lines[i]);
	influx_bad_lines("partial write: field type conflict: input field \"x\" on measurement "
			 "\"battery\" is type integer, already exists as type float dropped=3",
			 lines, lens, 5, bad, &v);
	CHECK(bad[0] && !bad[1] && bad[2] && !bad[3] && bad[4]);
	CHECK_INT(v.identified, ==, 3);
	CHECK(v.complete);
	/* dropped counts more than the message names: another field conflicted */
	influx_bad_lines("partial write: field type conflict: input field \"x\" on measurement "
			 "\"battery\" is type integer, already exists as type float dropped=4",
			 lines, lens, 5, bad, &v);
	CHECK_INT(v.identified, ==, 3);
	CHECK(!v.complete);
}

static void
test_bad_lines_v2_and_unexplained(void)
{
	bool bad[4];
	struct influx_verdict v;
	verdict("failed to parse line protocol: errors encountered on line(s):\nline 2: missing "
		"field value\nline 4: invalid field format",
		4, bad, &v);
	CHECK(!bad[0] && bad[1] && !bad[2] && bad[3]);
	CHECK(!v.partial && !v.complete); /* 2.x rejected the whole batch: resend the rest */
	verdict("partial write: points beyond retention policy dropped=3", 3, bad, &v);
	CHECK(bad[0] && bad[1] && bad[2]);
	CHECK(v.complete);
	verdict("partial write: points beyond retention policy dropped=1", 3, bad, &v);
	CHECK_INT(v.identified, ==, 0);
	CHECK(!v.complete);
	verdict("bad timestamp", 1, bad, &v);
	CHECK_INT(v.identified, ==, 0);
	CHECK(!v.complete);
	verdict("line 99: out of range", 4, bad, &v);
	CHECK_INT(v.identified, ==, 0);
}

static void
test_backoff_full_jitter(void)
{
	struct backoff b;
	backoff_init(&b, 1000, 60000);
	CHECK_INT(backoff_next(&b, 0.999), <, 1000);
	CHECK_INT(backoff_next(&b, 0.999), <, 2000);
	CHECK_INT(backoff_next(&b, 0.999), >=, 3990);
	for (int i = 0; i < 100; i++)
		CHECK_INT(backoff_next(&b, 0.999999), <, 60000);
	CHECK_INT(backoff_next(&b, 0.5), ==, 30000);
	CHECK_INT(backoff_next(&b, 0), ==, 0);
	backoff_reset(&b);
	CHECK_INT(backoff_next(&b, 0.5), ==, 500);
}

T_MAIN(T(test_api_detect), T(test_write_urls_and_precision_names), T(test_auth_header),
       T(test_status_table), T(test_retry_after), T(test_error_text),
       T(test_bad_lines_parse_errors_v1), T(test_bad_lines_type_conflict_v1),
       T(test_bad_lines_v2_and_unexplained), T(test_backoff_full_jitter))
