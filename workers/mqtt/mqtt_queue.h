/*
 * The MQTT worker's durable queue of session events: what the journal gave
 * it and the broker has not acknowledged yet, with the journal position it
 * has taken up to. Both go to disk together (mq_encode, one atomic file), so
 * an event is either in the file's queue or after its resume point: at least
 * once, whatever kills the worker. A newer event of the same session
 * (kind, start_ns) replaces a queued one that is not in flight, so a long
 * outage leaves one message per session, not one per minute.
 */
#ifndef LEAFMON_MQTT_QUEUE_H
#define LEAFMON_MQTT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define MQ_KIND_MAX 16

struct mq_event {
	char kind[MQ_KIND_MAX];
	char phase[MQ_KIND_MAX];
	int64_t start_ns, t_ns;
	int64_t queued_at; /* Unix seconds */
	char *detail;	   /* the session's JSON object, owned */
	int mid;	   /* in flight with this message id; 0: not sent */
};

struct mqtt_queue {
	struct mq_event *ev;
	size_t n, cap, max;
	uint64_t gen, seq; /* the journal position taken up to (resume after it) */
	uint64_t dropped;  /* the oldest went beyond max */
	uint64_t coalesced;
	bool dirty; /* changed since the last mq_encode */
};

void mq_init(struct mqtt_queue *q, size_t max);
void mq_free(struct mqtt_queue *q);
/* Queue an event (upsert by kind and start_ns); -1 only when out of memory. */
int mq_push(struct mqtt_queue *q, const char *kind, const char *phase, int64_t start_ns,
	    int64_t t_ns, const char *detail, int64_t now_s);
/* The oldest event not in flight, or -1. */
int mq_next_unsent(const struct mqtt_queue *q);
void mq_sent(struct mqtt_queue *q, int i, int mid);
/* The broker has it: drop the event sent as mid; false when none was. */
bool mq_acked(struct mqtt_queue *q, int mid);
/* A lost connection whose in-flight messages the client library forgot. */
void mq_unsend_all(struct mqtt_queue *q);
void mq_set_position(struct mqtt_queue *q, uint64_t gen, uint64_t seq);
size_t mq_bytes(const struct mqtt_queue *q);

/* The file's text; mq_decode replaces q's contents (0, or -1 with why). */
void mq_encode(const struct mqtt_queue *q, struct buf *b);
int mq_decode(struct mqtt_queue *q, const char *text, char *why, size_t len);

#endif
