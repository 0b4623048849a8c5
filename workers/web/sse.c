/*
 * SSE clients. The content reader hands out queued bytes; with nothing
 * queued it suspends its own connection and returns 0 (MHD's pattern for
 * "no data yet"); sse_broadcast() and sse_ping() resume it. All of this
 * runs in the loop's thread, as MHD_run() does.
 */
#include "sse.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

struct sse_client {
	struct sse *s;
	struct MHD_Connection *conn;
	struct buf q; /* whole events, not yet handed to MHD from off on */
	size_t off;
	bool suspended;
	bool resync;	  /* dropped events: send a snapshot once drained */
	bool dropped;	  /* shut down for not reading */
	int64_t taken_ms; /* mono: the socket last took data, or data began to wait */
	struct sse_client *prev, *next;
};

void
sse_init(struct sse *s, sse_snapshot_fn snapshot, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->snapshot = snapshot;
	s->snapshot_arg = arg;
}

static int64_t
mono_ms(void)
{
	return now_mono_ns() / NSEC_PER_MSEC;
}

static void
wake(struct sse_client *c)
{
	if (c->suspended) {
		c->suspended = false;
		c->taken_ms = mono_ms(); /* the wait starts now, not when it went idle */
		MHD_resume_connection(c->conn);
	}
}

static void
compact(struct sse_client *c)
{
	if (c->off == c->q.len) {
		buf_reset(&c->q);
		c->off = 0;
	}
}

static ssize_t
reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct sse_client *c = cls;
	struct sse *s = c->s;
	if (c->off == c->q.len && c->resync && !s->closing) {
		c->resync = false;
		s->resyncs++;
		compact(c);
		s->snapshot(s->snapshot_arg, &c->q);
	}
	if (c->off < c->q.len) {
		size_t n = c->q.len - c->off;
		if (n > max)
			n = max;
		memcpy(out, c->q.p + c->off, n);
		c->off += n;
		s->bytes += n;
		c->taken_ms = mono_ms();
		compact(c);
		return (ssize_t)n;
	}
	if (s->closing)
		return MHD_CONTENT_READER_END_OF_STREAM;
	c->suspended = true;
	MHD_suspend_connection(c->conn);
	return 0;
}

static void
reader_free(void *cls)
{
	struct sse_client *c = cls;
	struct sse *s = c->s;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->clients--;
	s->closed++;
	buf_free(&c->q);
	free(c);
}

struct MHD_Response *
sse_open(struct sse *s, struct MHD_Connection *conn)
{
	struct sse_client *c = calloc(1, sizeof(*c));
	if (c == NULL || s->closing) {
		free(c);
		return NULL;
	}
	c->s = s;
	c->conn = conn;
	c->taken_ms = mono_ms();
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	int sndbuf = SSE_SNDBUF;
	if (ci != NULL)
		setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	buf_init(&c->q);
	buf_puts(&c->q, "retry: 2000\n\n");
	s->snapshot(s->snapshot_arg, &c->q);
	struct MHD_Response *r =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, reader, c, reader_free);
	if (r == NULL) {
		buf_free(&c->q);
		free(c);
		return NULL;
	}
	c->next = s->head;
	if (s->head != NULL)
		s->head->prev = c;
	s->head = c;
	s->clients++;
	s->opened++;
	MHD_add_response_header(r, "Content-Type", "text/event-stream");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	return r;
}

void
sse_broadcast(struct sse *s, const char *ev, size_t len)
{
	s->events++;
	for (struct sse_client *c = s->head; c != NULL; c = c->next) {
		if (c->resync)
			continue; /* the snapshot it gets next covers this event */
		if (c->q.len - c->off + len > SSE_QUEUE_CAP) {
			c->resync = true;
		} else {
			buf_append(&c->q, ev, len);
			if (c->q.oom) { /* keep whole events only */
				buf_reset(&c->q);
				c->off = 0;
				c->resync = true;
			}
		}
		wake(c);
	}
}

void
sse_ping(struct sse *s)
{
	for (struct sse_client *c = s->head; c != NULL; c = c->next) {
		if (!c->suspended)
			continue; /* busy clients are already being written to */
		buf_puts(&c->q, ": ping\n\n");
		wake(c);
	}
}

void
sse_check(struct sse *s, int64_t stall_ms)
{
	int64_t now = mono_ms();
	for (struct sse_client *c = s->head; c != NULL; c = c->next) {
		bool waiting = c->off < c->q.len || c->resync;
		if (c->suspended || c->dropped || !waiting || now - c->taken_ms <= stall_ms)
			continue;
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL)
			continue;
		c->dropped = true;
		s->stalled++;
		shutdown(ci->connect_fd, SHUT_RDWR);
	}
}

void
sse_shutdown(struct sse *s)
{
	s->closing = true;
	for (struct sse_client *c = s->head; c != NULL; c = c->next)
		wake(c);
}
