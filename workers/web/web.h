/*
 * leafmon-web: the state shared by the web worker's files. One thread runs
 * the loop (MHD's epoll fd, the sample subscriber, curl's sockets, timers);
 * one helper thread (ctlq) makes the blocking calls to leafmond's control
 * socket. Requests that must wait (status, history) are suspended MHD
 * connections, resumed when their answer is ready.
 */
#ifndef LEAFMON_WEB_H
#define LEAFMON_WEB_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <microhttpd.h>

#include "ctlq.h"
#include "httpc.h"
#include "hgrid.h"
#include "hring.h"
#include "sse.h"
#include "wauth.h"
#include "worker.h"

#define WEB_BODY_MAX 4096	    /* POST bodies (login, control) */
#define WEB_CONN_MEMORY (32 * 1024) /* request line + headers per connection */
#define WEB_PING_S 5		    /* ": ping" to idle SSE clients */
#define WEB_STATUS_FRESH_MS 500	    /* a fetched status answers for this long */
#define WEB_MAX_QUERIES 4	    /* InfluxDB queries in flight */
/* History from InfluxDB: a signal with no point for 2.5 keyframe intervals
 * ([can] keyframe_s, or its default 60 s when keyframes are off) is stale,
 * so one lost keyframe does not break a line; its value is carried no
 * further. In tenths of an interval: */
#define WEB_STALE_AFTER_KEYFRAMES_X10 25
#define WEB_SESSION_COOKIE "leafmon_session"
/* A connection has this long to deliver a request's complete head, from its
 * accept or from its previous answer (slowloris; an idle keep-alive goes too). */
#define WEB_HEAD_DEADLINE_S 15
/* An SSE client whose data has waited this long without the socket taking
 * any of it is dropped (the kernel's buffers are full: it does not read). */
#define WEB_SSE_STALL_S 20

struct snap;
struct route;

enum wreq_state { WR_NEW, WR_WAIT, WR_READY };

/* One connection (MHD's socket_context), web_conn.c. */
struct wconn {
	struct web *web;
	struct MHD_Connection *conn;
	int fd;
	int64_t head_since_ms; /* mono: waiting for a request's head since; -1 in a request */
	int64_t head_off;      /* stream bytes read before that head; -1 unknown (TLS) */
	bool peeked;	       /* the head was looked at (or cannot be) */
	bool shut;	       /* shut down by us; MHD closes it next */
	struct wconn *prev, *next;
};
enum wreq_auth { AUTH_NONE, AUTH_OPEN, AUTH_COOKIE, AUTH_BEARER };

/* One HTTP request (MHD's con_cls). */
struct wreq {
	struct web *web;
	struct MHD_Connection *conn;
	const struct route *route;
	enum wreq_state state;
	enum wreq_auth auth;
	char token[WAUTH_TOKEN_LEN + 1]; /* the cookie's session token, if any */
	struct buf body;
	bool body_too_big;
	/* a prepared answer, sent when a suspended request resumes */
	unsigned status;
	struct buf out;
	const char *ctype;
	struct MHD_Response *resp; /* or a ready response (CSV stream) */
	/* what it waits for */
	char *url;
	struct wreq *wprev, *wnext; /* in web->waiting */
	bool wants_status;	    /* in the status waiters */
	struct httpc_req *creq;
	struct ctlq_job *cjob;
	struct hgrid grid;
	bool has_grid;
	bool export_csv;
	bool metrics;
	bool stream;	     /* an /api/stream response was queued */
	bool restart_itself; /* POST restart?worker=web: ask leafmond once answered */
};

struct web_stats {
	uint64_t requests, r2xx, r3xx, r4xx, r5xx;
	uint64_t samples, sample_signals;
	uint64_t history_influx, history_ring, history_fallbacks, history_errors;
	uint64_t exports, status_fetches, status_failures;
	uint64_t auth_denied, csrf_denied, control_actions, busy;
	uint64_t mhd_errors, mhd_noise;
	uint64_t head_timeouts, head_refused, sse_gone, host_refused;
	uint64_t ledger_queries, ledger_errors;
};

struct web {
	struct worker *w;
	const struct config *cfg;
	struct MHD_Daemon *mhd;
	int mhd_fd;
	struct loop_timer *mhd_timer;
	struct loop_timer *tick;
	unsigned port;
	bool tls;
	char *tls_cert, *tls_key; /* PEM text, kept while the daemon runs */
	char root[PATH_MAX];
	char host_names[1024]; /* Host values taken without a password (whost_allowed) */
	bool stopping;
	int64_t ticks;

	struct snap *snap;
	struct hring ring;
	struct sse sse;
	struct wauth auth;
	struct ctlq *ctl;
	struct httpc *curl;
	char *signals_json; /* /api/signals, built once */

	struct wreq *waiting; /* suspended requests */
	struct wconn *conns;  /* every open connection */
	float ages[1024]; /* capture -> here, ms, of the last samples (a ring) */
	unsigned nages;
	ControlResponse *status; /* cached */
	int64_t status_at_ms;	 /* mono */
	bool status_inflight;
	struct web_stats st;
};

/* web_http.c: the daemon in the loop, routing, responses */
enum web_http_start {
	WEB_HTTP_LISTENING,
	WEB_HTTP_BAD_BIND, /* [web] bind is no address: the configuration */
	WEB_HTTP_FAILED,   /* cannot listen (in use, a bad TLS key/cert?) or poll */
};
/* Listen on [web] bind and port and run the daemon from the loop; the
 * reason is logged when it does not. */
enum web_http_start web_http_start(struct web *web);
void web_http_stop(struct web *web);
void web_mhd_run(struct web *web);
/* Run MHD on the next loop turn (after resuming connections). */
void web_mhd_kick(struct web *web);
enum MHD_Result web_send(struct wreq *r, unsigned status, const char *ctype, const void *data,
			 size_t len);
enum MHD_Result web_send_buf(struct wreq *r, unsigned status, const char *ctype, struct buf *b);
enum MHD_Result web_send_error(struct wreq *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum MHD_Result web_send_response(struct wreq *r, unsigned status, struct MHD_Response *resp);
void web_headers(struct MHD_Response *resp, bool html);
/* Park r until web_wake() (it must have set its answer by then). */
enum MHD_Result web_wait(struct wreq *r);
void web_wake(struct wreq *r);
/* Prepare a JSON error as r's answer (for web_wake()). */
void web_prepare_error(struct wreq *r, unsigned status, const char *msg);
const char *web_arg(struct wreq *r, const char *name);
/* The client's address as the login limiter keys it. */
void web_client(struct wreq *r, struct wauth_addr *who);
int64_t web_now_ms(void);

/* web_conn.c: connections (MHD_OPTION_NOTIFY_CONNECTION) */
void web_conn_notify(void *cls, struct MHD_Connection *c, void **ctx,
		     enum MHD_ConnectionNotificationCode code);
void web_conn_request(struct MHD_Connection *c);  /* a request's head is complete */
void web_conn_answered(struct MHD_Connection *c); /* its answer is sent */
void web_conn_peek(struct web *web);		  /* before every MHD_run() */
void web_conn_tick(struct web *web);		  /* once a second: deadlines */

/* web_api.c: the JSON routes */
enum MHD_Result api_latest(struct wreq *r);
enum MHD_Result api_signals(struct wreq *r);
enum MHD_Result api_status(struct wreq *r);
enum MHD_Result api_metrics(struct wreq *r);
enum MHD_Result api_stream(struct wreq *r);
enum MHD_Result api_session(struct wreq *r);
enum MHD_Result api_login(struct wreq *r);
enum MHD_Result api_logout(struct wreq *r);
enum MHD_Result api_restart(struct wreq *r);
/* The answer to a restart of the web worker itself is out: now ask for it. */
void api_restart_itself(struct web *web);
void api_snapshot_event(void *arg, struct buf *b);
int api_build_signals(struct web *web);

/* web_hist.c: history and CSV export */
enum MHD_Result hist_history(struct wreq *r);
enum MHD_Result hist_export(struct wreq *r);

/* web_ledger.c: trips, charges, parks, battery, monthly from the ledger */
enum MHD_Result ledger_trips(struct wreq *r);
enum MHD_Result ledger_charges(struct wreq *r);
enum MHD_Result ledger_parks(struct wreq *r);
enum MHD_Result ledger_battery(struct wreq *r);
enum MHD_Result ledger_monthly(struct wreq *r);

/* web_static.c: files under the web root */
enum MHD_Result static_serve(struct wreq *r);
bool static_public(const char *url);

#endif
