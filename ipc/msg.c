/*
 * Checked unpacking: the size limit first, then protobuf-c, then the
 * invariants protobuf cannot express (ids and values of a Sample pair up).
 */
#include "msg.h"

Sample *
msg_sample_unpack(const uint8_t *data, size_t len)
{
	if (len > MSG_SAMPLE_MAX)
		return NULL;
	Sample *s = leafmon__v1__sample__unpack(NULL, len, data);
	if (s != NULL && s->n_ids != s->n_values) {
		leafmon__v1__sample__free_unpacked(s, NULL);
		return NULL;
	}
	return s;
}

Frame *
msg_frame_unpack(const uint8_t *data, size_t len)
{
	if (len > MSG_FRAME_MAX)
		return NULL;
	Frame *f = leafmon__v1__frame__unpack(NULL, len, data);
	if (f != NULL && f->data.len > 64) {
		leafmon__v1__frame__free_unpacked(f, NULL);
		return NULL;
	}
	return f;
}

Ctl *
msg_ctl_unpack(const uint8_t *data, size_t len)
{
	if (len > MSG_CTL_MAX)
		return NULL;
	return leafmon__v1__ctl__unpack(NULL, len, data);
}

ControlRequest *
msg_control_request_unpack(const uint8_t *data, size_t len)
{
	if (len > MSG_CONTROL_MAX)
		return NULL;
	return leafmon__v1__control_request__unpack(NULL, len, data);
}

ControlResponse *
msg_control_response_unpack(const uint8_t *data, size_t len)
{
	if (len > MSG_CONTROL_MAX)
		return NULL;
	return leafmon__v1__control_response__unpack(NULL, len, data);
}
