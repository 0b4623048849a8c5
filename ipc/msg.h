/*
 * Message helpers around the generated protobuf-c code: size limits checked
 * before every unpack, topic bytes on samples.ipc, and pack-to-buffer.
 */
#ifndef LEAFMON_MSG_H
#define LEAFMON_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "leafmon.pb-c.h"

/* Largest message accepted on each socket; anything bigger is dropped and
 * counted before protobuf ever sees it. */
#define MSG_SAMPLE_MAX 8192
#define MSG_FRAME_MAX 256
#define MSG_EVENT_MAX 4096
#define MSG_CTL_MAX 65536
#define MSG_CONTROL_MAX 262144

#define TOPIC_SAMPLE 's'
#define TOPIC_EVENT 'e'

typedef Leafmon__V1__Sample Sample;
typedef Leafmon__V1__Frame Frame;
typedef Leafmon__V1__Event Event;
typedef Leafmon__V1__Ctl Ctl;
typedef Leafmon__V1__Counter Counter;
typedef Leafmon__V1__Alert Alert;
typedef Leafmon__V1__Ledger Ledger;
typedef Leafmon__V1__Heartbeat Heartbeat;
typedef Leafmon__V1__ControlRequest ControlRequest;
typedef Leafmon__V1__ControlResponse ControlResponse;
typedef Leafmon__V1__Status Status;
typedef Leafmon__V1__WorkerStatus WorkerStatus;
typedef Leafmon__V1__ClockStatus ClockStatus;

/* Unpack with the size check; NULL when too big, malformed, or (Sample)
 * when ids and values differ in length. Free with protobuf_c_message_free_unpacked. */
Sample *msg_sample_unpack(const uint8_t *data, size_t len);
Frame *msg_frame_unpack(const uint8_t *data, size_t len);
ControlRequest *msg_control_request_unpack(const uint8_t *data, size_t len);
ControlResponse *msg_control_response_unpack(const uint8_t *data, size_t len);

/*
 * The parent channel (fd 3, SOCK_SEQPACKET, one packed Ctl per packet),
 * shared by leafmond and the worker runtime. chan_recv(): CHAN_MSG with
 * *out set (free with leafmon__v1__ctl__free_unpacked); CHAN_NONE when
 * nothing was there or the packet was empty or malformed (*bad_len > 0 for
 * a malformed one, to be logged); CHAN_EOF at a hang-up or an error. On a
 * SOCK_SEQPACKET an empty packet also reads as 0 bytes: only a hang-up is
 * the end, so the fd must be watched with EPOLLRDHUP.
 */
enum chan_rc { CHAN_NONE, CHAN_MSG, CHAN_EOF };
enum chan_rc chan_recv(int fd, uint32_t epoll_events, Ctl **out, size_t *bad_len);
/* Send one Ctl without blocking; -1 with errno (EAGAIN: the peer is behind). */
int chan_send(int fd, const Ctl *ctl);

#endif
