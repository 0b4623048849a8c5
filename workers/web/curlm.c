/*
 * curl multi <-> loop glue (curl's "multi_socket" API): the socket callback
 * adds, changes and removes loop fds; the timer callback arms one loop
 * timer; both loop callbacks call curl_multi_socket_action() and then
 * collect finished transfers.
 */
#include "curlm.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct curlm_req {
	struct curlm *cm;
	CURL *easy;
	struct curl_slist *headers;
	struct buf body;
	size_t max_body;
	bool too_large;
	curlm_fn fn;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
	struct curlm_req *next;
};

struct curlm {
	struct loop *l;
	CURLM *multi;
	struct loop_timer *timer;
	struct curlm_req *reqs;
	int inflight;
};

static void collect(struct curlm *cm);

static void
on_fd(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct curlm *cm = arg;
	int flags = 0, running;
	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(cm->multi, fd, flags, &running);
	collect(cm);
}

static void
on_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct curlm *cm = arg;
	int running;
	curl_multi_socket_action(cm->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	collect(cm);
}

static int
sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct curlm *cm = userp;
	uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (what == CURL_POLL_REMOVE) {
		if (socketp != NULL)
			loop_del_fd(cm->l, fd);
		curl_multi_assign(cm->multi, fd, NULL);
		return 0;
	}
	if (socketp == NULL) {
		if (loop_add_fd(cm->l, fd, ev, on_fd, cm) < 0)
			return -1;
		curl_multi_assign(cm->multi, fd, cm);
	} else if (loop_mod_fd(cm->l, fd, ev) < 0) {
		return -1;
	}
	return 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlm *cm = userp;
	if (timeout_ms < 0)
		loop_timer_stop(cm->timer);
	else
		loop_timer_after(cm->timer, (int64_t)timeout_ms * NSEC_PER_MSEC);
	return 0;
}

int
curlm_new(struct curlm **cmp, struct loop *l)
{
	struct curlm *cm = calloc(1, sizeof(*cm));
	if (cm == NULL)
		return -1;
	cm->l = l;
	cm->multi = curl_multi_init();
	cm->timer = loop_timer_new(l, on_timer, cm);
	if (cm->multi == NULL || cm->timer == NULL) {
		curlm_free(cm);
		return -1;
	}
	curl_multi_setopt(cm->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(cm->multi, CURLMOPT_SOCKETDATA, cm);
	curl_multi_setopt(cm->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(cm->multi, CURLMOPT_TIMERDATA, cm);
	*cmp = cm;
	return 0;
}

static void
req_free(struct curlm *cm, struct curlm_req *r)
{
	for (struct curlm_req **p = &cm->reqs; *p != NULL; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	curl_multi_remove_handle(cm->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	buf_free(&r->body);
	cm->inflight--;
	free(r);
}

void
curlm_free(struct curlm *cm)
{
	if (cm == NULL)
		return;
	while (cm->reqs != NULL)
		req_free(cm, cm->reqs);
	if (cm->multi != NULL)
		curl_multi_cleanup(cm->multi);
	loop_timer_free(cm->timer);
	free(cm);
}

static size_t
write_cb(char *data, size_t size, size_t n, void *userp)
{
	struct curlm_req *r = userp;
	size_t len = size * n;
	if (r->body.len + len > r->max_body) {
		r->too_large = true;
		return 0; /* aborts the transfer */
	}
	return buf_append(&r->body, data, len) == 0 ? len : 0;
}

static void
collect(struct curlm *cm)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(cm->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct curlm_req *r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		struct curlm_result res = {.curl_code = m->data.result, .body = &r->body,
					   .too_large = r->too_large};
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.http_status);
		res.errtext = r->errbuf[0] ? r->errbuf : curl_easy_strerror(m->data.result);
		r->fn(r->arg, &res);
		req_free(cm, r);
	}
}

struct curlm_req *
curlm_get(struct curlm *cm, const char *url, const char *header, long timeout_ms,
	  size_t max_body, curlm_fn fn, void *arg)
{
	struct curlm_req *r = calloc(1, sizeof(*r));
	if (r == NULL || (r->easy = curl_easy_init()) == NULL) {
		free(r);
		return NULL;
	}
	r->cm = cm;
	r->fn = fn;
	r->arg = arg;
	r->max_body = max_body;
	buf_init(&r->body);
	if (header != NULL)
		r->headers = curl_slist_append(NULL, header);
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 3000 ? timeout_ms : 3000);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_ACCEPT_ENCODING, "");
	r->next = cm->reqs;
	cm->reqs = r;
	cm->inflight++;
	if (curl_multi_add_handle(cm->multi, r->easy) != CURLM_OK) {
		req_free(cm, r);
		return NULL;
	}
	return r;
}

void
curlm_cancel(struct curlm *cm, struct curlm_req *r)
{
	req_free(cm, r);
}

int
curlm_inflight(const struct curlm *cm)
{
	return cm->inflight;
}
