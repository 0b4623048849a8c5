/*
 * libcurl multi + the loop (see httpc.h). Socket and timer callbacks only
 * register interest; transfers advance in curl_multi_socket_action() called
 * from loop callbacks, and finished transfers are reported after it
 * returns, so a user callback may start the next request at once.
 */
#include "httpc.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "util.h"

struct httpc_req {
	struct httpc *h;
	CURL *easy;
	struct curl_slist *hdrs;
	httpc_cb cb;
	void *arg;
	struct buf body;
	char version[64];
	char retry_after[64];
	char errbuf[CURL_ERROR_SIZE];
	uint64_t header_out; /* request line and headers as sent */
	size_t body_max;
	bool whole_body, too_large;
	bool done;
	struct httpc_req *next;
};

struct httpc {
	struct loop *loop;
	CURLM *multi;
	struct loop_timer *timer;
	struct httpc_req *reqs;
	int pending;
	bool in_action;
};

static void check_done(struct httpc *h);

static void
on_fd(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct httpc *h = arg;
	int running, mask = 0;
	if (events & EPOLLIN)
		mask |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		mask |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(h->multi, fd, mask, &running);
	check_done(h);
}

static void
on_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct httpc *h = arg;
	int running;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

static int
socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct httpc *h = userp;
	uint32_t ev = 0;
	if (what == CURL_POLL_REMOVE) {
		if (socketp != NULL)
			loop_del_fd(h->loop, s);
		curl_multi_assign(h->multi, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev |= EPOLLOUT;
	if (socketp != NULL) {
		if (loop_mod_fd(h->loop, s, ev) < 0)
			log_warn("http: watch socket %d", s);
		return 0;
	}
	if (loop_add_fd(h->loop, s, ev, on_fd, h) < 0) {
		log_warn("http: add socket %d", s);
		return -1;
	}
	curl_multi_assign(h->multi, s, h);
	return 0;
}

static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct httpc *h = userp;
	if (timeout_ms < 0)
		loop_timer_stop(h->timer);
	else
		loop_timer_after(h->timer, (int64_t)timeout_ms * NSEC_PER_MSEC);
	return 0;
}

int
httpc_new(struct httpc **hp, struct loop *l)
{
	static bool global_done;
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			return -1;
		global_done = true;
	}
	struct httpc *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -1;
	h->loop = l;
	h->multi = curl_multi_init();
	h->timer = loop_timer_new(l, on_timer, h);
	if (h->multi == NULL || h->timer == NULL) {
		httpc_free(h);
		return -1;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 4L);
	*hp = h;
	return 0;
}

static void
req_free(struct httpc_req *r)
{
	struct httpc *h = r->h;
	for (struct httpc_req **pp = &h->reqs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	curl_multi_remove_handle(h->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	buf_free(&r->body);
	free(r);
	h->pending--;
}

void
httpc_free(struct httpc *h)
{
	if (h == NULL)
		return;
	while (h->reqs != NULL)
		req_free(h->reqs);
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	loop_timer_free(h->timer);
	free(h);
}

static size_t
write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct httpc_req *r = arg;
	size_t len = size * n;
	if (r->body.len + len > r->body_max && r->whole_body) {
		r->too_large = true;
		return 0; /* aborts the transfer */
	}
	if (r->body.len < r->body_max) {
		size_t take = r->body_max - r->body.len < len ? r->body_max - r->body.len : len;
		if (buf_append(&r->body, p, take) < 0 && r->whole_body)
			return 0; /* no memory for what was asked whole */
	}
	return len;
}

static void
header_value(const char *p, size_t len, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	if (len <= nl + 1 || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
		return;
	p += nl + 1;
	len -= nl + 1;
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' '))
		len--;
	snprintf(out, cap, "%.*s", (int)len, p);
}

static int
debug_cb(CURL *e, curl_infotype type, char *data, size_t size, void *arg)
{
	struct httpc_req *r = arg;
	if (type == CURLINFO_HEADER_OUT)
		r->header_out += size;
	return 0;
}

static size_t
header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct httpc_req *r = arg;
	size_t len = size * n;
	header_value(p, len, "X-Influxdb-Version", r->version, sizeof(r->version));
	header_value(p, len, "Retry-After", r->retry_after, sizeof(r->retry_after));
	return len;
}

static int
setup(struct httpc_req *r, const char *method, const char *url, const void *body, size_t len,
      const struct httpc_opts *o)
{
	CURL *e = r->easy;
	r->hdrs = curl_slist_append(NULL, "Expect:"); /* no 100-continue wait */
	for (const char *const *hd = o->headers; hd != NULL && *hd != NULL; hd++)
		if ((*hd)[0] != '\0')
			r->hdrs = curl_slist_append(r->hdrs, *hd);
	if (r->hdrs == NULL)
		return -1;
	r->body_max = o->body_max ? o->body_max : HTTPC_BODY_MAX;
	r->whole_body = o->whole_body;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "leafmon/" LEAFMON_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	/* the debug callback sees the header bytes as sent; nothing is printed */
	curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, debug_cb);
	curl_easy_setopt(e, CURLOPT_DEBUGDATA, r);
	curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file != NULL && o->ca_file[0] != '\0')
		curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
	if (o->compressed)
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	return 0;
}

struct httpc_req *
httpc_request(struct httpc *h, const char *method, const char *url, const void *body, size_t len,
	      const struct httpc_opts *o, httpc_cb cb, void *arg)
{
	struct httpc_req *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->h = h;
	r->cb = cb;
	r->arg = arg;
	buf_init(&r->body);
	r->easy = curl_easy_init();
	if (r->easy == NULL || setup(r, method, url, body, len, o) < 0) {
		if (r->easy != NULL)
			curl_easy_cleanup(r->easy);
		curl_slist_free_all(r->hdrs);
		free(r);
		return NULL;
	}
	r->next = h->reqs;
	h->reqs = r;
	h->pending++;
	/* the multi's timer callback schedules the start from the loop */
	if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
		req_free(r);
		return NULL;
	}
	return r;
}

void
httpc_cancel(struct httpc_req *r)
{
	if (r != NULL && !r->done)
		req_free(r);
}

int
httpc_pending(const struct httpc *h)
{
	return h->pending;
}

/* Response header bytes plus body bytes. (CURLINFO_REQUEST_SIZE would not
 * do for the other direction: it includes a small body sent with the
 * headers, which CURLINFO_SIZE_UPLOAD_T counts too.) */
static uint64_t
recv_bytes(CURL *e)
{
	long h = 0;
	curl_off_t b = 0;
	curl_easy_getinfo(e, CURLINFO_HEADER_SIZE, &h);
	curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &b);
	return (uint64_t)(h > 0 ? h : 0) + (uint64_t)(b > 0 ? b : 0);
}

static uint64_t
sent_bytes(const struct httpc_req *r)
{
	curl_off_t b = 0;
	curl_easy_getinfo(r->easy, CURLINFO_SIZE_UPLOAD_T, &b);
	return r->header_out + (uint64_t)(b > 0 ? b : 0);
}

static void
finish(struct httpc_req *r, CURLcode code)
{
	struct httpc_resp resp;
	long status = 0;
	double secs = 0;
	memset(&resp, 0, sizeof(resp));
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &secs);
	resp.curl_code = (int)code;
	resp.status = code == CURLE_OK ? (int)status : 0;
	if (code != CURLE_OK)
		snprintf(resp.error, sizeof(resp.error), "%s",
			 r->errbuf[0] ? r->errbuf : curl_easy_strerror(code));
	resp.body = buf_str(&r->body);
	resp.body_len = r->body.len;
	snprintf(resp.version, sizeof(resp.version), "%s", r->version);
	snprintf(resp.retry_after, sizeof(resp.retry_after), "%s", r->retry_after);
	resp.seconds = secs;
	resp.sent_bytes = sent_bytes(r);
	resp.recv_bytes = recv_bytes(r->easy);
	resp.too_large = r->too_large;
	r->done = true; /* a cancel from inside the callback is a no-op */
	r->cb(&resp, r->arg);
}

static void
check_done(struct httpc *h)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct httpc_req *r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		CURLcode code = m->data.result;
		if (r == NULL)
			continue;
		/* the response body lives in r: report, then free */
		finish(r, code);
		req_free(r);
	}
}

/* ---- blocking, for the CLI ---- */

struct fetch {
	struct httpc_answer *a;
	bool done;
};

static void
fetch_done(const struct httpc_resp *r, void *arg)
{
	struct fetch *f = arg;
	struct httpc_answer *a = f->a;
	a->status = r->status;
	a->curl_code = r->curl_code;
	snprintf(a->error, sizeof(a->error), "%s", r->error);
	snprintf(a->version, sizeof(a->version), "%s", r->version);
	a->seconds = r->seconds;
	if (r->body_len > 0)
		buf_append(&a->body, r->body, r->body_len);
	f->done = true;
}

int
httpc_fetch(const char *method, const char *url, const void *body, size_t len,
	    const struct httpc_opts *o, struct httpc_answer *a)
{
	struct fetch f = {.a = a};
	struct loop *l = loop_new();
	struct httpc *h = NULL;
	memset(a, 0, sizeof(*a));
	buf_init(&a->body);
	if (l == NULL || httpc_new(&h, l) < 0 ||
	    httpc_request(h, method, url, body, len, o, fetch_done, &f) == NULL) {
		snprintf(a->error, sizeof(a->error), "cannot start the request (out of memory?)");
		a->curl_code = CURLE_OUT_OF_MEMORY;
	} else {
		while (!f.done)
			if (loop_once(l, NSEC_PER_SEC) < 0) {
				snprintf(a->error, sizeof(a->error), "epoll failed");
				break;
			}
	}
	httpc_free(h);
	loop_free(l);
	buf_str(&a->body); /* NUL-terminated, even when empty */
	return f.done && a->curl_code == CURLE_OK ? 0 : -1;
}

void
httpc_answer_free(struct httpc_answer *a)
{
	buf_free(&a->body);
}
