/*
 * The MQTT worker's connection: libmosquitto in the worker's loop. The
 * client's socket is watched for reading, and for writing while the library
 * has something queued (mosquitto_want_write); mosquitto_loop_misc runs
 * each second. Connects are asynchronous; a lost or refused connection is
 * retried after a backoff with full jitter (slow after refused
 * credentials), and an attempt that has not been answered in 15 s counts as
 * failed. A broker's name is resolved first with getaddrinfo_a (glibc's
 * resolver thread, the only one here: getaddrinfo has no non-blocking form,
 * and a DNS server out of reach would hold the loop past the heartbeat
 * timeout). Its addresses are tried in turn, each with the full timeout,
 * before the backoff: plain mqtt:// connects to the address, mqtts:// to the
 * name (its certificate is checked against it), bound to the address's
 * family so that libmosquitto, which resolves the name again at once and
 * gives up after the first address that fails, takes the same one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <mosquitto.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "mqtt_worker.h"

#define KEEPALIVE_S 30
#define RESOLVE_POLL_NS (50 * NSEC_PER_MSEC)
#define CONNECT_TIMEOUT_NS (15 * NSEC_PER_SEC)

int64_t
mw_backoff_ms(int failures, bool auth, uint32_t random)
{
	int64_t lo = auth ? 30000 : 1000, cap = auth ? 600000 : 60000, hi = lo;
	for (int i = 1; i < failures && hi < cap; i++)
		hi *= 2;
	if (hi > cap)
		hi = cap;
	return lo + (int64_t)(random % (uint32_t)(hi - lo + 1));
}

static uint32_t
random32(void)
{
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)now_mono_ns();
	return r;
}

/* ---- the socket in our loop ---- */

static void
after_io(struct mw *mw, int rc, const char *what)
{
	if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN && !mw->down)
		log_debug("mqtt %s: %s", what, mosquitto_strerror(rc));
	mw_sync_fd(mw);
}

static void
on_sock(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct mw *mw = arg;
	int rc = MOSQ_ERR_SUCCESS;

	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		rc = mosquitto_loop_read(mw->mosq, 1);
	if (rc == MOSQ_ERR_SUCCESS && (events & EPOLLOUT) && mw->sock >= 0)
		rc = mosquitto_loop_write(mw->mosq, 1);
	after_io(mw, rc, "i/o");
}

void
mw_sync_fd(struct mw *mw)
{
	int s = mosquitto_socket(mw->mosq);
	uint32_t want = EPOLLIN | (s >= 0 && mosquitto_want_write(mw->mosq) ? EPOLLOUT : 0);

	if (s != mw->sock && mw->sock >= 0) {
		loop_del_fd(mw->w->loop, mw->sock);
		mw->sock = -1;
	}
	if (s < 0)
		return;
	if (mw->sock < 0) {
		if (loop_add_fd(mw->w->loop, s, want, on_sock, mw) < 0) {
			log_warn("mqtt socket into the loop");
			return;
		}
		mw->sock = s;
	} else if (want != mw->sock_events && loop_mod_fd(mw->w->loop, s, want) < 0) {
		log_warn("mqtt socket events");
	}
	mw->sock_events = want;
}

/* ---- failures and retries ---- */

static void
schedule_retry(struct mw *mw)
{
	mw->down = true;
	mw->connected = false;
	mw->connect_started = 0;
	mw->n_addrs = mw->addr_next = 0;
	mw->failures++;
	mw->retry_delay_ms = mw_backoff_ms(mw->failures, mw->auth_refused, random32());
	loop_timer_after(mw->retry, mw->retry_delay_ms * NSEC_PER_MSEC);
	log_debug("mqtt: next attempt in %lld ms", (long long)mw->retry_delay_ms);
}

/* An attempt failed before the broker answered: its next address at once,
 * or the backoff when none is left. */
static void
attempt_failed(struct mw *mw)
{
	if (mw->addr_next >= mw->n_addrs) {
		schedule_retry(mw);
		return;
	}
	mw->down = true;
	mw->connected = false;
	mw->connect_started = 0;
	loop_timer_after(mw->retry, 0); /* off the library's callback */
}

static const char *
connack_text(int rc)
{
	switch (rc) {
	case 1:
		return "the broker refused the protocol version";
	case 2:
		return "the broker refused the client id";
	case 3:
		return "the broker is unavailable";
	case 4:
		return "the broker refused the username or password";
	case 5:
		return "the broker refused the login as not authorised (check username and "
		       "password_file)";
	default:
		return "the broker refused the connection";
	}
}

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct mw *mw = arg;

	if (rc != 0) {
		mw->auth_refused = rc == 4 || rc == 5;
		mw->n_addrs = 0; /* a broker answered: its other addresses would too */
		mw->n.auth_refused += mw->auth_refused;
		mw_set_error(mw, mw->auth_refused ? "auth" : "refused", rc, "%s (CONNACK %d)",
			     connack_text(rc), rc);
		return; /* the library drops the connection: on_disconnect follows */
	}
	mw->connected = true;
	mw->down = false;
	mw->auth_refused = false;
	mw->failures = 0;
	mw->connect_started = 0;
	mw->n.connects++;
	mw_connected(mw);
}

static void
on_disconnect(struct mosquitto *m, void *arg, int rc)
{
	struct mw *mw = arg;
	bool was = mw->connected;

	if (mw->sock >= 0) { /* the library closes it after this callback */
		loop_del_fd(mw->w->loop, mw->sock);
		mw->sock = -1;
	}
	if (mw->w->stopping)
		return;
	if (was) {
		mw->n.disconnects++;
		mw_set_error(mw, "unreachable", -rc, "connection to %s:%d lost: %s", mw->host,
			     mw->port, mosquitto_strerror(rc));
	} else if (!mw->auth_refused) {
		mw->n.connect_failures++;
		mw_set_error(mw, "unreachable", -rc, "cannot connect to %s:%d: %s", mw->host,
			     mw->port,
			     rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
	}
	if (mw->down)
		return;
	if (was)
		schedule_retry(mw);
	else
		attempt_failed(mw);
}

static void
on_publish(struct mosquitto *m, void *arg, int mid)
{
	mw_acked(arg, mid);
}

static void
on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	struct mw *mw = arg;
	mw->n.received++;
	if (msg->payloadlen == 6 && memcmp(msg->payload, "online", 6) == 0)
		mw_birth(mw);
}

static void
on_log(struct mosquitto *m, void *arg, int level, const char *text)
{
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
		log_debug("libmosquitto: %s", text);
}

static void on_resolve(struct loop *l, struct loop_timer *t, void *arg);
static void connect_next(struct mw *mw);

static void
on_retry(struct loop *l, struct loop_timer *t, void *arg)
{
	mw_conn_connect(arg);
}

/* ---- setup ---- */

/* mqtt[s]://host[:port] (checked by the config) into host, port, tls. */
static int
parse_url(struct mw *mw, const char *url)
{
	mw->tls = strncmp(url, "mqtts://", 8) == 0;
	const char *h = strstr(url, "://") + 3;
	size_t n = strcspn(h, "/");
	const char *colon = h[0] == '[' ? strstr(h, "]:") : memchr(h, ':', n);
	size_t hl = colon != NULL ? (size_t)(colon - h) + (h[0] == '[') : n;
	mw->port = colon != NULL ? atoi(colon + 1 + (h[0] == '[')) : mw->tls ? 8883 : 1883;
	if (h[0] == '[') { /* an IPv6 literal without its brackets */
		h++;
		hl = hl >= 2 ? hl - 2 : 0;
	}
	if (hl == 0 || hl >= sizeof(mw->host))
		return -1;
	memcpy(mw->host, h, hl);
	mw->host[hl] = '\0';
	return 0;
}

static int
set_tls(struct mw *mw)
{
	const char *ca = mw->cfg->mqtt.ca_file;
	int rc;

	if (ca[0] != '\0')
		rc = mosquitto_tls_set(mw->mosq, ca, NULL, NULL, NULL, NULL);
	else if ((rc = mosquitto_int_option(mw->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1)) ==
		 MOSQ_ERR_SUCCESS)
		rc = mosquitto_tls_set(mw->mosq, NULL, "/etc/ssl/certs", NULL, NULL, NULL);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_tls_insecure_set(mw->mosq, false); /* the host name is checked */
	if (rc != MOSQ_ERR_SUCCESS)
		log_warnx("mqtt TLS setup: %s", mosquitto_strerror(rc));
	return rc == MOSQ_ERR_SUCCESS ? 0 : -1;
}

int
mw_conn_init(struct mw *mw)
{
	char status[MQTT_TOPIC_MAX];
	const char *user = mw->cfg->mqtt.username, *pw = mw->cfg->mqtt.password;

	mw->sock = -1;
	if (parse_url(mw, mw->cfg->mqtt.url) < 0) {
		log_warnx("mqtt url %s: no host", mw->cfg->mqtt.url);
		return -1;
	}
	mosquitto_lib_init();
	mw->mosq = mosquitto_new(mw->nm.client_id, true, mw);
	if (mw->mosq == NULL) {
		log_warn("mosquitto_new");
		return -1;
	}
	mosquitto_int_option(mw->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mqtt_topic(&mw->nm, "status", status, sizeof(status));
	if (mosquitto_will_set(mw->mosq, status, 7, "offline", mw->nm.qos, true) !=
		MOSQ_ERR_SUCCESS ||
	    (user[0] != '\0' &&
	     mosquitto_username_pw_set(mw->mosq, user, pw[0] ? pw : NULL) != MOSQ_ERR_SUCCESS) ||
	    (mw->tls && set_tls(mw) < 0)) {
		log_warnx("mqtt client setup failed");
		return -1;
	}
	mosquitto_connect_callback_set(mw->mosq, on_connect);
	mosquitto_disconnect_callback_set(mw->mosq, on_disconnect);
	mosquitto_publish_callback_set(mw->mosq, on_publish);
	mosquitto_message_callback_set(mw->mosq, on_message);
	mosquitto_log_callback_set(mw->mosq, on_log);
	mw->retry = loop_timer_new(mw->w->loop, on_retry, mw);
	mw->resolve = loop_timer_new(mw->w->loop, on_resolve, mw);
	return mw->retry != NULL && mw->resolve != NULL ? 0 : -1;
}

/* ---- the name, resolved off the loop ---- */

static bool
numeric_host(const char *h)
{
	unsigned char a[16];
	return inet_pton(AF_INET, h, a) == 1 || inet_pton(AF_INET6, h, a) == 1;
}

static void connect_to(struct mw *mw, const char *host, int family);

static int
resolve_start(struct mw *mw)
{
	static struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct gaicb *g = mw->gai;

	if (g == NULL && (g = mw->gai = calloc(1, sizeof(*g))) == NULL)
		return -1;
	memset(g, 0, sizeof(*g));
	g->ar_name = mw->host;
	g->ar_request = &hints;
	struct gaicb *list[1] = {g};
	if (getaddrinfo_a(GAI_NOWAIT, list, 1, NULL) != 0)
		return -1;
	mw->resolving = true;
	mw->resolve_started = now_mono_ns();
	loop_timer_after(mw->resolve, RESOLVE_POLL_NS);
	return 0;
}

static void
resolve_failed(struct mw *mw, const char *why)
{
	mw->resolving = false;
	mw->n.resolve_failures++;
	mw_set_error(mw, "unreachable", -EHOSTUNREACH, "cannot resolve %s: %s", mw->host, why);
	schedule_retry(mw);
}

static void
on_resolve(struct loop *l, struct loop_timer *t, void *arg)
{
	struct mw *mw = arg;
	struct gaicb *g = mw->gai;
	int rc = gai_error(g);

	if (rc == EAI_INPROGRESS) {
		if (now_mono_ns() - mw->resolve_started <= CONNECT_TIMEOUT_NS) {
			loop_timer_after(t, RESOLVE_POLL_NS);
			return;
		}
		if (gai_cancel(g) != EAI_CANCELED) { /* still running: the same request waits */
			loop_timer_after(t, RESOLVE_POLL_NS);
			return;
		}
		resolve_failed(mw, "no answer in 15 s");
		return;
	}
	if (rc != 0) {
		resolve_failed(mw, gai_strerror(rc));
		return;
	}
	mw->resolving = false;
	mw->n_addrs = mw->addr_next = 0;
	for (const struct addrinfo *ai = g->ar_result; ai != NULL && mw->n_addrs < MW_ADDRS_MAX;
	     ai = ai->ai_next) {
		const void *a = ai->ai_family == AF_INET6
				    ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
				    : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    inet_ntop(ai->ai_family, a, mw->addrs[mw->n_addrs], sizeof(mw->addrs[0])) != NULL)
			mw->addr_family[mw->n_addrs++] = ai->ai_family;
	}
	freeaddrinfo(g->ar_result);
	g->ar_result = NULL;
	if (mw->n_addrs == 0) {
		resolve_failed(mw, "no IPv4 or IPv6 address");
		return;
	}
	connect_next(mw);
}

/* The next of the name's addresses. */
static void
connect_next(struct mw *mw)
{
	int i = mw->addr_next++;
	log_debug("mqtt: %s is %s (%d of %d)", mw->host, mw->addrs[i], i + 1, mw->n_addrs);
	connect_to(mw, mw->tls ? mw->host : mw->addrs[i], mw->addr_family[i]);
}

void
mw_conn_connect(struct mw *mw)
{
	if (mw->sock >= 0) { /* a stale attempt: the library closes it */
		loop_del_fd(mw->w->loop, mw->sock);
		mw->sock = -1;
	}
	mw->down = false;
	mw->auth_refused = false;
	mw->connect_started = now_mono_ns();
	if (numeric_host(mw->host)) {
		connect_to(mw, mw->host, AF_UNSPEC);
		return;
	}
	if (mw->addr_next < mw->n_addrs) {
		connect_next(mw);
		return;
	}
	if (mw->resolving) /* a lookup that outlived its cancel: let it finish */
		return;
	if (resolve_start(mw) < 0)
		resolve_failed(mw, "cannot start the lookup");
}

/* Connect (again) to host, a name that resolves now or an address; a
 * family other than AF_UNSPEC binds the socket to it, which makes the
 * library skip the name's addresses of the other family. */
static void
connect_to(struct mw *mw, const char *host, int family)
{
	const char *bind = family == AF_INET6 ? "::" : family == AF_INET ? "0.0.0.0" : NULL;
	int rc = mosquitto_connect_bind_async(mw->mosq, host, mw->port, KEEPALIVE_S, bind);

	mw->connect_started = now_mono_ns();
	if (rc != MOSQ_ERR_SUCCESS) {
		mw->n.connect_failures++;
		mw_set_error(mw, "unreachable", -rc, "cannot connect to %s:%d: %s", mw->host,
			     mw->port,
			     rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		attempt_failed(mw);
		return;
	}
	mw_sync_fd(mw);
}

void
mw_conn_misc(struct mw *mw)
{
	if (mw->connect_started != 0 && !mw->connected && !mw->resolving &&
	    now_mono_ns() - mw->connect_started > CONNECT_TIMEOUT_NS) {
		mw->n.timeouts++;
		mw_set_error(mw, "unreachable", -ETIMEDOUT, "no answer from %s:%d in %d s",
			     mw->host, mw->port, (int)(CONNECT_TIMEOUT_NS / NSEC_PER_SEC));
		if (mw->sock >= 0) {
			loop_del_fd(mw->w->loop, mw->sock);
			mw->sock = -1;
		}
		attempt_failed(mw);
		return;
	}
	/* a connection the library closed without telling us, or a state
	 * with nothing under way: start over rather than sit there */
	if (mw->connected && mosquitto_socket(mw->mosq) < 0) {
		mw->n.disconnects++;
		mw_set_error(mw, "unreachable", -MOSQ_ERR_CONN_LOST, "connection to %s:%d lost",
			     mw->host, mw->port);
		schedule_retry(mw);
		return;
	}
	if (!mw->connected && !mw->down && !mw->resolving && mw->connect_started == 0 &&
	    !loop_timer_armed(mw->retry)) {
		schedule_retry(mw);
		return;
	}
	if (mw->sock >= 0)
		after_io(mw, mosquitto_loop_misc(mw->mosq), "keepalive");
}

int
mw_pub(struct mw *mw, const char *topic, const void *payload, size_t len, int qos, bool retain,
       int *mid)
{
	int rc = mosquitto_publish(mw->mosq, mid, topic, (int)len, payload, qos, retain);
	if (rc != MOSQ_ERR_SUCCESS) {
		mw->n.publish_errors++;
		return -1;
	}
	mw->n.messages++;
	mw->n.bytes += strlen(topic) + len;
	mw->bytes_today += strlen(topic) + len;
	return 0;
}

void
mw_subscribe(struct mw *mw, const char *topic)
{
	if (mosquitto_subscribe(mw->mosq, NULL, topic, 0) != MOSQ_ERR_SUCCESS)
		mw->n.publish_errors++;
}

void
mw_conn_close(struct mw *mw)
{
	char status[MQTT_TOPIC_MAX];

	if (mw->mosq == NULL)
		return;
	if (mw->connected) { /* a clean goodbye: offline now, not after the keepalive */
		mqtt_topic(&mw->nm, "status", status, sizeof(status));
		mw_pub(mw, status, "offline", 7, mw->nm.qos, true, NULL);
		mosquitto_disconnect(mw->mosq);
		for (int i = 0; i < 10 && mosquitto_want_write(mw->mosq); i++)
			mosquitto_loop_write(mw->mosq, 1);
	}
	if (mw->sock >= 0)
		loop_del_fd(mw->w->loop, mw->sock);
	mw->sock = -1;
	mosquitto_destroy(mw->mosq);
	mw->mosq = NULL;
	mosquitto_lib_cleanup();
}
