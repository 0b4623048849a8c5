/*
 * Asynchronous HTTP requests with libcurl's multi interface driven by the
 * worker's reactor (common/loop.h): curl's sockets become loop fds, curl's
 * timeout a loop timer. Nothing here ever blocks the loop; a hung server
 * costs a pending request until its total timeout. Used by the influx and
 * the cloud writer (writes, pings) and the web worker (history queries);
 * httpc_fetch() below wraps it for the CLI, which may wait for an answer.
 */
#ifndef LEAFMON_HTTPC_H
#define LEAFMON_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "util.h"

#define HTTPC_BODY_MAX 65536 /* response bytes kept; the rest is counted only */

struct httpc;
struct httpc_req;

struct httpc_resp {
	int status;	      /* HTTP status; 0 when no answer came */
	int curl_code;	      /* CURLcode; 0 when the transfer completed */
	char error[256];      /* transport error for status 0 */
	const char *body;     /* NUL-terminated, up to HTTPC_BODY_MAX */
	size_t body_len;
	char version[64];     /* X-Influxdb-Version */
	char retry_after[64]; /* Retry-After */
	double seconds;	      /* total time */
	uint64_t sent_bytes;  /* request line, headers and body as sent (HTTP level, before TLS) */
	uint64_t recv_bytes;  /* response headers and body as received */
	bool too_large;	      /* whole_body: the body passed body_max (transfer aborted) */
};

typedef void (*httpc_cb)(const struct httpc_resp *r, void *arg);

struct httpc_opts {
	int connect_timeout_ms;
	int timeout_ms;		      /* the whole request */
	const char *ca_file;	      /* NULL: the system's CAs; verification is always on */
	const char *const *headers;   /* extra "Name: value" lines, NULL-terminated */
	size_t body_max;	      /* response bytes kept; 0: HTTPC_BODY_MAX */
	bool whole_body;	      /* past body_max: abort, too_large (else: count only) */
	bool compressed;	      /* ask for any encoding curl can decode */
};

int httpc_new(struct httpc **hp, struct loop *l);
/* Cancels every pending request without calling back (not from a callback). */
void httpc_free(struct httpc *h);
/*
 * Start a request (method "GET" or "POST"). The body is not copied: it must
 * stay valid until the callback runs or the request is cancelled. The
 * callback runs once, from the loop, never from inside this call.
 */
struct httpc_req *httpc_request(struct httpc *h, const char *method, const char *url,
				const void *body, size_t len, const struct httpc_opts *o,
				httpc_cb cb, void *arg);
void httpc_cancel(struct httpc_req *r);
int httpc_pending(const struct httpc *h);

/* A blocking request, for the CLI (leafmon doctor): a loop of its own runs
 * until the answer comes or the timeout passes. Returns 0 when the server
 * answered (any status), -1 when not (error says why). */
struct httpc_answer {
	int status;
	int curl_code;
	char error[256];
	char version[64]; /* X-Influxdb-Version */
	double seconds;
	struct buf body; /* up to o->body_max; free with httpc_answer_free() */
};
int httpc_fetch(const char *method, const char *url, const void *body, size_t len,
		const struct httpc_opts *o, struct httpc_answer *a);
void httpc_answer_free(struct httpc_answer *a);

#endif
