/*
 * NNG sockets of RUNDIR: samples.ipc and frames.ipc (pub/sub), control.ipc
 * (req/rep). Dialers never block on a missing listener (NNG_FLAG_NONBLOCK:
 * they reconnect in the background), so start order does not matter.
 * nng is not fork-safe: a process that forks (leafmond) must exec in the
 * child before any nng call.
 */
#ifndef LEAFMON_BUS_H
#define LEAFMON_BUS_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <protobuf-c/protobuf-c.h>

#define BUS_SAMPLES "samples.ipc"
#define BUS_FRAMES "frames.ipc"
#define BUS_CONTROL "control.ipc"

/* Sockets: the owner and the leafmon group may connect (the CLI under the
 * unit, whose UMask=0027 would make them 0750), nobody else. */
#define BUS_SOCKET_MODE 0660

/* "ipc://RUNDIR/name" into url; -1 if it does not fit sun_path. */
int bus_url(char *url, size_t len, const char *rundir, const char *name);
/* Listen on url with the socket file at BUS_SOCKET_MODE; an nng code. */
int bus_listen(nng_socket s, const char *url);

int bus_pub_listen(nng_socket *s, const char *rundir, const char *name);
/* Subscribe to topic (NULL/0: everything); recv buffer at its maximum. */
int bus_sub_dial(nng_socket *s, const char *rundir, const char *name, const void *topic,
		 size_t topic_len);
/* Pollable fd that is readable while a message waits (NNG_OPT_RECVFD). */
int bus_recv_fd(nng_socket s, int *fd);

/* nng_close without the risk of hanging the caller: libnng 1.5.2 can block in
 * nng_close forever when a message arrives while the socket closes (DESIGN.md,
 * "nng_close"). Closes on a thread and waits at most a second (not at all once
 * a close has hung); -1 if the close was left running. A never-opened socket
 * (id 0) is nothing to close. */
int bus_close(nng_socket s);
/* How many closes did not return in time since the process started. */
unsigned bus_stuck_closes(void);
/* A process that ends while a close is stuck ends here, with _exit(code):
 * no exit handler runs beside the thread still inside nng, and what nng
 * lost in the hang is not counted as a leak of ours. Otherwise returns. */
void bus_exit_if_stuck(int code);

/* Publish topic byte + packed message. Never blocks (PUB drops when full). */
int bus_publish(nng_socket s, char topic, const ProtobufCMessage *m);
/* Publish bytes as they are (topic byte already in front, or none). */
int bus_publish_raw(nng_socket s, const void *data, size_t len);

/* Control: one request, one response, with a timeout. *resp is malloc'd
 * packed bytes; NNG errors are returned as negative nng codes. */
int bus_control_call(const char *rundir, const ProtobufCMessage *req, uint8_t **resp,
		     size_t *resp_len, int timeout_ms);

#endif
