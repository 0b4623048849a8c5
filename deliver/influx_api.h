/*
 * InfluxDB's HTTP API as pure functions: API detection from /ping, write
 * URLs (v1 /write?db=&rp=&precision=, v2 /api/v2/write?org=&bucket=&precision=),
 * the Authorization header, what each status means (DESIGN.md "HTTP status
 * handling"), Retry-After, the server's error text, which lines of a
 * rejected batch were bad, and capped exponential backoff with full jitter.
 */
#ifndef LEAFMON_INFLUX_API_H
#define LEAFMON_INFLUX_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

#define RETRY_AFTER_CAP_S 600

/* "1.*" is v1; anything else (2.x, 3.x, or no header) is v2. */
int influx_api_detect(const char *version_header);
/* Percent-encode a query value; -1 when it does not fit. */
int influx_url_escape(char *out, size_t cap, const char *s);
int influx_write_url(char *out, size_t len, const struct cfg_writer *w, int api);
int influx_ping_url(char *out, size_t len, const char *base);
/* The sessions' destination (DESIGN.md "Session measurements"): w with
 * retention_policy = session_rp and bucket = session_bucket, each where set. */
void influx_session_writer(const struct cfg_writer *w, struct cfg_writer *s);
/*
 * "Authorization: ..." for the token: v2 "Token T"; v1 with "user:password"
 * uses Basic (InfluxDB 1.x auth), any other v1 token "Token T" (1.8+).
 * Empty string when there is no token. -1 when it does not fit.
 */
int influx_auth_header(char *out, size_t len, int api, const char *token);

enum influx_action {
	IA_OK,	       /* 2xx */
	IA_SPLIT,      /* 413: halve the batch */
	IA_REJECT,     /* 400, 422: find the bad lines, dead-letter them */
	IA_RETRY,      /* 429, 5xx, other: back off (Retry-After) */
	IA_AUTH,       /* 401, 403: keep, alert, retry slowly */
	IA_NOT_FOUND,  /* 404: unknown database/bucket: keep, alert, retry slowly */
	IA_NETWORK,    /* no answer: back off */
};
enum influx_action influx_classify(int status);
/* As influx_classify, with the error text: InfluxDB 1.x answers 500
 * "retention policy not found" for a missing RP, which is IA_NOT_FOUND. */
enum influx_action influx_classify_text(int status, const char *msg);
const char *influx_action_name(enum influx_action a);

/* Seconds from a Retry-After value (delta or HTTP date), capped at
 * RETRY_AFTER_CAP_S; -1 when absent or unparseable. */
int influx_retry_after(const char *hdr, time_t now);
/* The error message of a response body: v1 {"error": ...}, v2 {"message": ...},
 * else the body itself; control characters become spaces. */
void influx_error_text(const char *body, size_t len, char *out, size_t cap);

/* What a 400/422 said about the lines of the request. */
struct influx_verdict {
	bool partial;	 /* "partial write": the lines not named were stored */
	long dropped;	 /* dropped=N, -1 when not given */
	int identified;	 /* lines marked bad */
	bool complete;	 /* every bad line is identified: the rest need no resend */
};
/*
 * Mark the lines (as sent, without their '\n') that the error message names
 * or describes: "unable to parse '<line>'", "field type conflict: input
 * field "F" on measurement "M" is type T", v2 "line N:", and a partial
 * write that dropped every line.
 */
void influx_bad_lines(const char *msg, const char *const *lines, const size_t *lens, size_t n,
		      bool *bad, struct influx_verdict *v);

struct backoff {
	int64_t min_ns, max_ns;
	int attempt;
};
void backoff_init(struct backoff *b, int64_t min_ns, int64_t max_ns);
/* Full jitter: uniform in [0, min(max, min * 2^attempt)), u in [0, 1). */
int64_t backoff_next(struct backoff *b, double u);
void backoff_reset(struct backoff *b);

#endif
