/*
 * Every connection MHD holds, from accept to close (its connection
 * notifications): how long it has waited for a request's head, and a look
 * at that head in the socket before MHD reads it. A connection without a
 * complete head WEB_HEAD_DEADLINE_S after its accept or its previous answer
 * is shut down (a slowloris client holds no slot for long); a head whose
 * Content-Length MHD 0.9.75 would answer with its header block twice is
 * answered here and the connection closed.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "log.h"
#include "web.h"
#include "whead.h"

static char peekbuf[WEB_CONN_MEMORY]; /* the loop's thread only */

static struct wconn *
of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* Bytes of the stream the application (MHD) has read: received minus still
 * queued, read twice so that an arrival in between is noticed. -1: unknown. */
static int64_t
consumed(int fd)
{
	for (int tries = 0; tries < 3; tries++) {
		struct tcp_info a, b;
		socklen_t la = sizeof(a), lb = sizeof(b);
		int inq;
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &a, &la) < 0 ||
		    la < offsetof(struct tcp_info, tcpi_bytes_received) +
			     sizeof(a.tcpi_bytes_received) ||
		    ioctl(fd, SIOCINQ, &inq) < 0 ||
		    getsockopt(fd, IPPROTO_TCP, TCP_INFO, &b, &lb) < 0)
			return -1;
		if (a.tcpi_bytes_received == b.tcpi_bytes_received)
			return (int64_t)a.tcpi_bytes_received - inq;
	}
	return -1;
}

static void
head_begins(struct wconn *wc)
{
	int64_t off = wc->web->tls ? -1 : consumed(wc->fd);
	wc->head_since_ms = now_mono_ns() / NSEC_PER_MSEC;
	wc->head_off = off;
	wc->peeked = off < 0; /* nothing to look at: TLS, or an unknown offset */
}

static void
shut(struct wconn *wc)
{
	wc->shut = true;
	shutdown(wc->fd, SHUT_RDWR); /* MHD reads EOF and closes it */
}

/* Answer a bad head ourselves: take it out of the socket (MHD never sees
 * it), send the JSON error and close. */
static void
refuse(struct wconn *wc, enum whead_verdict v)
{
	char resp[512], body[96];
	bool big = v == WHEAD_TOO_LARGE;
	int blen = snprintf(body, sizeof(body),
			    big ? "{\"error\":\"request body larger than %d bytes\"}\n"
				: "{\"error\":\"bad Content-Length\"}\n",
			    WEB_BODY_MAX);
	int n = snprintf(resp, sizeof(resp),
			 "HTTP/1.1 %s\r\nConnection: close\r\nContent-Type: application/json\r\n"
			 "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
			 "X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n"
			 "Content-Length: %d\r\n\r\n%s",
			 big ? "413 Content Too Large" : "400 Bad Request", blen, body);
	for (int i = 0; i < 4 && recv(wc->fd, peekbuf, sizeof(peekbuf), MSG_DONTWAIT) > 0; i++)
		;
	if (send(wc->fd, resp, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("web: answering a bad head: %s", strerror(errno));
	wc->web->st.requests++;
	wc->web->st.r4xx++;
	wc->web->st.head_refused++;
	shut(wc);
}

/* one look at the head, once it is in the socket and MHD has none of it */
static void
peek(struct wconn *wc)
{
	ssize_t n = recv(wc->fd, peekbuf, sizeof(peekbuf), MSG_PEEK | MSG_DONTWAIT);
	if (n <= 0)
		return;	   /* nothing yet (or the peer left: MHD sees it) */
	wc->peeked = true; /* MHD reads it next: this is the only look */
	if (consumed(wc->fd) != (int64_t)wc->head_off)
		return;
	enum whead_verdict v = whead_check(peekbuf, (size_t)n, WEB_BODY_MAX);
	if (v == WHEAD_BAD || v == WHEAD_TOO_LARGE)
		refuse(wc, v);
}

void
web_conn_peek(struct web *web)
{
	for (struct wconn *wc = web->conns; wc != NULL; wc = wc->next)
		if (wc->head_since_ms >= 0 && !wc->peeked && !wc->shut)
			peek(wc);
}

void
web_conn_tick(struct web *web)
{
	int64_t now = now_mono_ns() / NSEC_PER_MSEC;
	for (struct wconn *wc = web->conns; wc != NULL; wc = wc->next)
		if (wc->head_since_ms >= 0 && !wc->shut &&
		    now - wc->head_since_ms > WEB_HEAD_DEADLINE_S * 1000LL) {
			web->st.head_timeouts++;
			shut(wc);
		}
}

void
web_conn_request(struct MHD_Connection *c)
{
	struct wconn *wc = of(c);
	if (wc != NULL)
		wc->head_since_ms = -1;
}

void
web_conn_answered(struct MHD_Connection *c)
{
	struct wconn *wc = of(c);
	if (wc != NULL && !wc->shut)
		head_begins(wc);
}

static void
started(struct web *web, struct MHD_Connection *c, void **ctx)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct wconn *wc = calloc(1, sizeof(*wc));
	if (wc == NULL || ci == NULL) {
		free(wc);
		return; /* untracked: MHD's own timeout still applies */
	}
	wc->web = web;
	wc->conn = c;
	wc->fd = ci->connect_fd;
	wc->next = web->conns;
	if (web->conns != NULL)
		web->conns->prev = wc;
	web->conns = wc;
	*ctx = wc;
	head_begins(wc);
	if (!wc->peeked)
		peek(wc); /* MHD may read it before our next look */
}

void
web_conn_notify(void *cls, struct MHD_Connection *c, void **ctx,
		enum MHD_ConnectionNotificationCode code)
{
	struct wconn *wc = *ctx;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		started(cls, c, ctx);
		return;
	}
	if (wc == NULL)
		return;
	if (wc->prev != NULL)
		wc->prev->next = wc->next;
	else
		wc->web->conns = wc->next;
	if (wc->next != NULL)
		wc->next->prev = wc->prev;
	free(wc);
	*ctx = NULL;
}
