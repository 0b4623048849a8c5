/*
 * NNG helpers. Buffers are at nng 1.5's maximum (8192 messages) because PUB
 * drops silently when a subscriber's queue is full; the journal and sequence
 * numbers catch what is dropped anyway.
 */
#include "bus.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>

#include "log.h"
#include "util.h"

#define BUS_QUEUE 8192
#define SUN_PATH_MAX 107
#define BUS_CLOSE_WAIT_MS 1000

int
bus_url(char *url, size_t len, const char *rundir, const char *name)
{
	if (strlen(rundir) + 1 + strlen(name) > SUN_PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int n = snprintf(url, len, "ipc://%s/%s", rundir, name);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
bus_listen(nng_socket s, const char *url)
{
	nng_listener l;
	int rv;

	if ((rv = nng_listener_create(&l, s, url)) != 0)
		return rv;
	if ((rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, BUS_SOCKET_MODE)) != 0 ||
	    (rv = nng_listener_start(l, 0)) != 0)
		nng_listener_close(l);
	return rv;
}

int
bus_pub_listen(nng_socket *s, const char *rundir, const char *name)
{
	char url[256];
	int rv;
	if (bus_url(url, sizeof(url), rundir, name) < 0)
		return NNG_EINVAL;
	if ((rv = nng_pub0_open(s)) != 0)
		return rv;
	nng_socket_set_int(*s, NNG_OPT_SENDBUF, BUS_QUEUE);
	if ((rv = bus_listen(*s, url)) != 0) {
		log_warnx("listen %s: %s", url, nng_strerror(rv));
		nng_close(*s);
		return rv;
	}
	return 0;
}

int
bus_sub_dial(nng_socket *s, const char *rundir, const char *name, const void *topic,
	     size_t topic_len)
{
	char url[256];
	int rv;
	if (bus_url(url, sizeof(url), rundir, name) < 0)
		return NNG_EINVAL;
	if ((rv = nng_sub0_open(s)) != 0)
		return rv;
	if ((rv = nng_socket_set(*s, NNG_OPT_SUB_SUBSCRIBE, topic, topic ? topic_len : 0)) != 0 ||
	    (rv = nng_socket_set_int(*s, NNG_OPT_RECVBUF, BUS_QUEUE)) != 0 ||
	    (rv = nng_socket_set_ms(*s, NNG_OPT_RECONNMINT, 50)) != 0 ||
	    (rv = nng_socket_set_ms(*s, NNG_OPT_RECONNMAXT, 1000)) != 0 ||
	    (rv = nng_socket_set_size(*s, NNG_OPT_RECVMAXSZ, 1 << 20)) != 0 ||
	    (rv = nng_dial(*s, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		nng_close(*s);
		return rv;
	}
	return 0;
}

int
bus_recv_fd(nng_socket s, int *fd)
{
	return nng_socket_get_int(s, NNG_OPT_RECVFD, fd);
}

int
bus_publish(nng_socket s, char topic, const ProtobufCMessage *m)
{
	nng_msg *msg;
	size_t size = protobuf_c_message_get_packed_size(m);
	int rv = nng_msg_alloc(&msg, size + 1);
	if (rv != 0)
		return rv;
	uint8_t *body = nng_msg_body(msg);
	body[0] = (uint8_t)topic;
	protobuf_c_message_pack(m, body + 1);
	if ((rv = nng_sendmsg(s, msg, NNG_FLAG_NONBLOCK)) != 0)
		nng_msg_free(msg);
	return rv;
}

int
bus_publish_raw(nng_socket s, const void *data, size_t len)
{
	nng_msg *msg;
	int rv = nng_msg_alloc(&msg, len);
	if (rv != 0)
		return rv;
	memcpy(nng_msg_body(msg), data, len);
	if ((rv = nng_sendmsg(s, msg, NNG_FLAG_NONBLOCK)) != 0)
		nng_msg_free(msg);
	return rv;
}

int
bus_control_call(const char *rundir, const ProtobufCMessage *req, uint8_t **resp,
		 size_t *resp_len, int timeout_ms)
{
	char url[256];
	nng_socket s;
	nng_msg *msg = NULL;
	int rv;

	if (bus_url(url, sizeof(url), rundir, BUS_CONTROL) < 0)
		return -NNG_EINVAL;
	if ((rv = nng_req0_open(&s)) != 0)
		return -rv;
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, timeout_ms);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, timeout_ms);
	nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, 4 << 20);
	if ((rv = nng_dial(s, url, NULL, 0)) != 0)
		goto out;
	size_t size = protobuf_c_message_get_packed_size(req);
	if ((rv = nng_msg_alloc(&msg, size)) != 0)
		goto out;
	protobuf_c_message_pack(req, nng_msg_body(msg));
	if ((rv = nng_sendmsg(s, msg, 0)) != 0) {
		nng_msg_free(msg);
		goto out;
	}
	if ((rv = nng_recvmsg(s, &msg, 0)) != 0)
		goto out;
	*resp_len = nng_msg_len(msg);
	*resp = malloc(*resp_len ? *resp_len : 1);
	if (*resp == NULL)
		rv = NNG_ENOMEM;
	else
		memcpy(*resp, nng_msg_body(msg), *resp_len);
	nng_msg_free(msg);
out:
	bus_close(s);
	return rv == 0 ? 0 : -rv;
}

/*
 * nng_close off the caller's thread (see DESIGN.md, "nng_close"). The
 * closer and the caller share the struct; the last one out frees it.
 */
struct closer {
	nng_socket s;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int refs;
};

static atomic_uint stuck_closes;

static void
closer_rele(struct closer *c)
{
	bool last = --c->refs == 0;
	pthread_mutex_unlock(&c->mu);
	if (!last)
		return;
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static void *
closer_main(void *arg)
{
	struct closer *c = arg;
	nng_close(c->s);
	pthread_mutex_lock(&c->mu);
	c->done = true;
	pthread_cond_signal(&c->cv);
	closer_rele(c);
	return NULL;
}

static struct closer *
closer_new(nng_socket s)
{
	struct closer *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;
	if (c == NULL)
		return NULL;
	c->s = s;
	c->refs = 2;
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	return c;
}

static bool
closer_start(struct closer *c)
{
	pthread_attr_t a;
	pthread_t t;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &a, closer_main, c);
	pthread_attr_destroy(&a);
	return rc == 0;
}

int
bus_close(nng_socket s)
{
	if (nng_socket_id(s) <= 0)
		return 0;
	struct closer *c = closer_new(s);
	if (c == NULL || !closer_start(c)) {
		/* no thread: leave the socket open rather than risk the hang */
		free(c);
		log_warnx("nng socket %d left open: no thread to close it", nng_socket_id(s));
		return -1;
	}
	/* once a close has hung, no later nng_close returns either: start
	 * them, do not wait for them */
	int64_t wait_ms = atomic_load(&stuck_closes) == 0 ? BUS_CLOSE_WAIT_MS : 0;
	int64_t until_ns = now_mono_ns() + wait_ms * NSEC_PER_MSEC;
	struct timespec until = {until_ns / NSEC_PER_SEC, until_ns % NSEC_PER_SEC};
	pthread_mutex_lock(&c->mu);
	while (!c->done && pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0)
		;
	bool done = c->done;
	closer_rele(c);
	if (done)
		return 0;
	if (atomic_fetch_add(&stuck_closes, 1) == 0)
		log_warnx("nng_close of socket %d did not return within %d ms (libnng 1.5.2): "
			  "left to a thread; later closes do not wait",
			  nng_socket_id(s), BUS_CLOSE_WAIT_MS);
	return -1;
}

unsigned
bus_stuck_closes(void)
{
	return atomic_load(&stuck_closes);
}

void
bus_exit_if_stuck(int code)
{
	if (atomic_load(&stuck_closes) == 0)
		return;
	fflush(NULL);
	_exit(code);
}
