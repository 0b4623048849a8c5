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
Ctl *msg_ctl_unpack(const uint8_t *data, size_t len);
ControlRequest *msg_control_request_unpack(const uint8_t *data, size_t len);
ControlResponse *msg_control_response_unpack(const uint8_t *data, size_t len);

#endif
