/*
 * HTTP GETs through libcurl's multi interface inside the loop: curl's
 * sockets are loop fds and its timeout is a loop timer, so a slow or dead
 * InfluxDB never blocks the web worker. Each request has a timeout and a
 * cap on the body it will keep.
 */
#ifndef LEAFMON_CURLM_H
#define LEAFMON_CURLM_H

#include <stddef.h>

#include "loop.h"
#include "util.h"

struct curlm;
struct curlm_req;

struct curlm_result {
	int curl_code;	     /* CURLcode; 0 when the transfer completed */
	long http_status;    /* 0 when no answer came */
	const char *errtext; /* curl's message when curl_code != 0 */
	bool too_large;	     /* the body passed the cap */
	struct buf *body;    /* the caller may steal body->p */
};

typedef void (*curlm_fn)(void *arg, const struct curlm_result *res);

int curlm_new(struct curlm **cmp, struct loop *l);
/* Aborts every request in flight without calling back. */
void curlm_free(struct curlm *cm);
/* header may be NULL. The request is freed after its callback. */
struct curlm_req *curlm_get(struct curlm *cm, const char *url, const char *header,
			    long timeout_ms, size_t max_body, curlm_fn fn, void *arg);
/* Abort one request; its callback will not run. */
void curlm_cancel(struct curlm *cm, struct curlm_req *r);
int curlm_inflight(const struct curlm *cm);

#endif
