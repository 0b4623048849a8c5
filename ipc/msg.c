/*
 * Checked unpacking: the size limit first, then protobuf-c, then the
 * invariants protobuf cannot express (ids and values of a Sample pair up).
 */
#include "msg.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>

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

static Ctl *
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

enum chan_rc
chan_recv(int fd, uint32_t ev, Ctl **out, size_t *bad_len)
{
	static uint8_t buf[MSG_CTL_MAX + 1]; /* one loop thread per process */

	*out = NULL;
	*bad_len = 0;
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return CHAN_NONE;
	if (n == 0 && !(ev & (EPOLLHUP | EPOLLRDHUP)))
		return CHAN_NONE;
	if (n <= 0)
		return CHAN_EOF;
	*out = msg_ctl_unpack(buf, (size_t)n);
	if (*out == NULL) {
		*bad_len = (size_t)n;
		return CHAN_NONE;
	}
	return CHAN_MSG;
}

int
chan_send(int fd, const Ctl *ctl)
{
	uint8_t stackbuf[4096], *p = stackbuf;
	size_t len = leafmon__v1__ctl__get_packed_size(ctl);

	if (len > sizeof(stackbuf) && (p = malloc(len)) == NULL)
		return -1;
	leafmon__v1__ctl__pack(ctl, p);
	ssize_t rc = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	int saved = errno;
	if (p != stackbuf)
		free(p);
	errno = saved;
	return rc == (ssize_t)len ? 0 : -1;
}
