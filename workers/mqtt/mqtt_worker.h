/*
 * leafmon-mqtt: the live state to an MQTT broker (Home Assistant and
 * friends). libmosquitto runs inside the worker's loop (its socket fd, and
 * mosquitto_loop_misc on a 1 s timer; no thread). Every publish_interval_ms
 * the snapshot's changed values go out retained, one topic per signal and
 * one JSON document; Home Assistant discovery configs announce each signal
 * the car has shown. Session events come durably through the journal
 * (ipc/feed) into a queue on disk and leave it only when the broker has
 * acknowledged them. The broker is often away (the car leaves home Wi-Fi):
 * reconnects back off with jitter, and a reconnect publishes the current
 * state, never a backlog of samples.
 */
#ifndef LEAFMON_MQTT_WORKER_H
#define LEAFMON_MQTT_WORKER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "feed.h"
#include "mqtt_ha.h"
#include "mqtt_queue.h"
#include "snap.h"
#include "worker.h"

#define MW_VALUE_MAX 40
#define MW_EVENTS_MAX 4096   /* sessions queued beyond this drop the oldest (counted) */
#define MW_INFLIGHT_EVENTS 8 /* events sent and not yet acknowledged */

struct mosquitto;

#define MW_ADDRS_MAX 8

struct mw {
	struct worker *w;
	const struct config *cfg;
	struct mqtt_names nm;
	struct mosquitto *mosq;
	char host[256];
	int port;
	bool tls;
	/* the connection */
	int sock; /* the fd in our loop, -1 none */
	uint32_t sock_events;
	bool connected;		 /* CONNACK accepted */
	bool down;		 /* lost or refused: a retry is scheduled */
	bool auth_refused;	 /* the last CONNACK refused the credentials */
	int64_t connect_started; /* mono ns of the attempt under way, 0 none */
	int failures;		 /* in a row, for the backoff */
	int64_t retry_delay_ms;	 /* the last one drawn */
	struct loop_timer *retry, *tick, *misc, *resolve;
	/* the broker's name, resolved without blocking the loop (getaddrinfo_a:
	 * glibc's resolver thread); the request lives as long as the worker */
	void *gai; /* struct gaicb, NULL while none was made */
	bool resolving;
	int64_t resolve_started;
	/* its addresses, tried in the resolver's order until one answers (a
	 * broker on 127.0.0.1 behind a "localhost" that resolves to ::1 first) */
	char addrs[MW_ADDRS_MAX][64];
	int addr_family[MW_ADDRS_MAX];
	int n_addrs, addr_next; /* the next one to try; n_addrs 0: resolve again */
	/* state */
	struct snap *snap;
	char last[SIG_ID_MAX][MW_VALUE_MAX]; /* published text; "" not yet */
	bool seen[SIG_ID_MAX];		     /* had a value: announced to HA */
	bool announced[SIG_ID_MAX];
	bool ledger_announced;
	bool republish;	    /* after a (re)connect or HA's birth: everything again */
	int64_t last_birth; /* mono ns of the last discovery republish for a birth */
	int generation;	    /* vehicle_generation seen, -1 unknown */
	char model[32];
	/* events */
	struct feed feed;
	struct mqtt_queue q;
	char qpath[PATH_MAX];
	int64_t q_saved; /* mono ns */
	uint64_t q_saved_seq;
	/* the ledger */
	int64_t last_success; /* Unix s of the last acknowledgement */
	int last_error_code;  /* CONNACK code, or -errno / -MOSQ_ERR for the rest */
	char last_error[256];
	int64_t last_error_at;
	char alert_code[32], alert_text[256];
	int64_t alert_since;
	uint64_t bytes_today;
	int bytes_day;
	struct {
		uint64_t connects, connect_failures, disconnects, auth_refused, timeouts;
		uint64_t resolve_failures;
		uint64_t messages, bytes, state_messages, state_docs, discovery_messages;
		uint64_t event_messages, events_taken, events_acked, publish_errors;
		uint64_t received, births, births_coalesced, queue_saves, queue_save_errors;
		uint64_t snap_busy, snap_missing, samples;
	} n;
};

int mw_start(struct mw *mw, struct worker *w);

/* Between the worker's files: the connection (mqtt_conn.c)... */
int mw_conn_init(struct mw *mw);
void mw_conn_connect(struct mw *mw);
void mw_conn_misc(struct mw *mw); /* each second: keepalive, connect timeout */
void mw_conn_close(struct mw *mw);
/* Publish; the message id in *mid when not NULL; 0, or -1 (counted). */
int mw_pub(struct mw *mw, const char *topic, const void *payload, size_t len, int qos, bool retain,
	   int *mid);
void mw_sync_fd(struct mw *mw);
void mw_subscribe(struct mw *mw, const char *topic);
/* ...and what it tells the publisher (mqtt_worker.c). */
void mw_connected(struct mw *mw);
void mw_acked(struct mw *mw, int mid);
void mw_birth(struct mw *mw);
void mw_set_error(struct mw *mw, const char *code, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The backoff before retry `failures` (1 = the first): full jitter up to a
 * doubling cap; slow (30 s .. 10 min) after refused credentials. Pure. */
int64_t mw_backoff_ms(int failures, bool auth, uint32_t random);

#endif
