/*
 * The durable event queue (mqtt_queue.h): an array in arrival order,
 * upserted by session, and its text form "leafmon-mqtt-events 1".
 */
#include "mqtt_queue.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MQ_MAGIC "leafmon-mqtt-events 1"

void
mq_init(struct mqtt_queue *q, size_t max)
{
	memset(q, 0, sizeof(*q));
	q->max = max > 0 ? max : 1;
}

void
mq_free(struct mqtt_queue *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->ev[i].detail);
	free(q->ev);
	q->ev = NULL;
	q->n = q->cap = 0;
}

static void
remove_at(struct mqtt_queue *q, size_t i)
{
	free(q->ev[i].detail);
	memmove(&q->ev[i], &q->ev[i + 1], (q->n - i - 1) * sizeof(q->ev[0]));
	q->n--;
	q->dirty = true;
}

static bool
token_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= MQ_KIND_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
			return false;
	return true;
}

static int
grow(struct mqtt_queue *q)
{
	if (q->n < q->cap)
		return 0;
	size_t cap = q->cap ? q->cap * 2 : 16;
	struct mq_event *ev = realloc(q->ev, cap * sizeof(*ev));
	if (ev == NULL)
		return -1;
	q->ev = ev;
	q->cap = cap;
	return 0;
}

int
mq_push(struct mqtt_queue *q, const char *kind, const char *phase, int64_t start_ns, int64_t t_ns,
	const char *detail, int64_t now_s)
{
	char *d = strdup(detail != NULL ? detail : "");
	if (d == NULL || !token_ok(kind) || !token_ok(phase)) {
		free(d);
		return d == NULL ? -1 : 0; /* a malformed kind is not ours to send */
	}
	for (char *p = d; *p != '\0'; p++) /* one line in the file; JSON blanks all the same */
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	for (size_t i = q->n; i-- > 0;) {
		struct mq_event *e = &q->ev[i];
		if (e->mid == 0 && e->start_ns == start_ns && strcmp(e->kind, kind) == 0) {
			free(e->detail);
			e->detail = d;
			snprintf(e->phase, sizeof(e->phase), "%s", phase);
			e->t_ns = t_ns;
			q->coalesced++;
			q->dirty = true;
			return 0;
		}
	}
	if (q->n >= q->max) {
		remove_at(q, 0);
		q->dropped++;
	}
	if (grow(q) < 0) {
		free(d);
		return -1;
	}
	struct mq_event *e = &q->ev[q->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	snprintf(e->phase, sizeof(e->phase), "%s", phase);
	e->start_ns = start_ns;
	e->t_ns = t_ns;
	e->queued_at = now_s;
	e->detail = d;
	q->dirty = true;
	return 0;
}

int
mq_next_unsent(const struct mqtt_queue *q)
{
	for (size_t i = 0; i < q->n; i++)
		if (q->ev[i].mid == 0)
			return (int)i;
	return -1;
}

void
mq_sent(struct mqtt_queue *q, int i, int mid)
{
	q->ev[i].mid = mid;
}

bool
mq_acked(struct mqtt_queue *q, int mid)
{
	for (size_t i = 0; i < q->n; i++)
		if (q->ev[i].mid == mid && mid != 0) {
			remove_at(q, i);
			return true;
		}
	return false;
}

void
mq_unsend_all(struct mqtt_queue *q)
{
	for (size_t i = 0; i < q->n; i++)
		q->ev[i].mid = 0;
}

void
mq_set_position(struct mqtt_queue *q, uint64_t gen, uint64_t seq)
{
	q->gen = gen;
	q->seq = seq;
}

size_t
mq_bytes(const struct mqtt_queue *q)
{
	size_t bytes = 0;
	for (size_t i = 0; i < q->n; i++)
		bytes += strlen(q->ev[i].detail) + 64;
	return bytes;
}

void
mq_encode(const struct mqtt_queue *q, struct buf *b)
{
	buf_printf(b, "%s\nresume %" PRIu64 " %" PRIu64 "\ndropped %" PRIu64 "\n", MQ_MAGIC, q->gen,
		   q->seq, q->dropped);
	for (size_t i = 0; i < q->n; i++) {
		const struct mq_event *e = &q->ev[i];
		buf_printf(b, "event %s %s %" PRId64 " %" PRId64 " %" PRId64 " %s\n", e->kind,
			   e->phase, e->start_ns, e->t_ns, e->queued_at, e->detail);
	}
	buf_puts(b, "end\n");
}

/* One "event ..." line (without the keyword) into q. */
static int
decode_event(struct mqtt_queue *q, const char *line)
{
	char kind[MQ_KIND_MAX], phase[MQ_KIND_MAX];
	int64_t start, t, at;
	int off = 0;

	if (sscanf(line, "%15s %15s %" SCNd64 " %" SCNd64 " %" SCNd64 " %n", kind, phase, &start,
		   &t, &at, &off) != 5 ||
	    off == 0 || !token_ok(kind) || !token_ok(phase))
		return -1;
	size_t before = q->n;
	if (mq_push(q, kind, phase, start, t, line + off, at) < 0 || q->n == before)
		return -1;
	return 0;
}

int
mq_decode(struct mqtt_queue *q, const char *text, char *why, size_t len)
{
	size_t max = q->max;
	bool ended = false;
	int lineno = 0;

	mq_free(q);
	mq_init(q, max);
	for (const char *p = text; *p != '\0' && !ended; lineno++) {
		size_t n = strcspn(p, "\n");
		char *line = strndup(p, n);
		int rc = 0;
		if (line == NULL)
			rc = -1;
		else if (lineno == 0)
			rc = strcmp(line, MQ_MAGIC) == 0 ? 0 : -1;
		else if (strncmp(line, "resume ", 7) == 0)
			rc = sscanf(line + 7, "%" SCNu64 " %" SCNu64, &q->gen, &q->seq) == 2 ? 0
											     : -1;
		else if (strncmp(line, "dropped ", 8) == 0)
			rc = sscanf(line + 8, "%" SCNu64, &q->dropped) == 1 ? 0 : -1;
		else if (strncmp(line, "event ", 6) == 0)
			rc = decode_event(q, line + 6);
		else if (strcmp(line, "end") == 0)
			ended = true;
		free(line);
		if (rc < 0) {
			snprintf(why, len, "line %d not understood", lineno + 1);
			return -1;
		}
		p += n + (p[n] == '\n');
	}
	if (!ended) {
		snprintf(why, len, "no end line (cut short)");
		return -1;
	}
	q->coalesced = 0;
	q->dirty = false;
	return 0;
}
