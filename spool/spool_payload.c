/*
 * Sample payload codec for spool records (layout in spool_payload.h).
 */
#include "spool_payload.h"

#include <string.h>

#include "spool_fmt.h"

int
spool_payload_encode(struct buf *out, const struct spool_value *v, size_t n)
{
	uint8_t hdr[4], ent[10];

	if (n > SPOOL_PAYLOAD_MAX_VALUES)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (v[i].id >= 4096 || v[i].kind > SPK_MAX)
			return -1;
	hdr[0] = SPOOL_PAYLOAD_FORMAT;
	hdr[1] = 0;
	le16_put(hdr + 2, (uint16_t)n);
	if (buf_reserve(out, 4 + 10 * n) < 0)
		return -1;
	buf_append(out, hdr, 4);
	for (size_t i = 0; i < n; i++) {
		uint64_t bits;
		memcpy(&bits, &v[i].v, 8);
		le16_put(ent, (uint16_t)(v[i].id | (v[i].kind << 12)));
		le64_put(ent + 2, bits);
		buf_append(out, ent, 10);
	}
	return out->oom ? -1 : 0;
}

int
spool_payload_decode(const uint8_t *p, size_t len, struct spool_value *out, size_t cap)
{
	if (len < 4 || p[0] != SPOOL_PAYLOAD_FORMAT)
		return -1;
	size_t n = le16_get(p + 2);
	if (len != 4 + 10 * n || n > cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = p + 4 + 10 * i;
		uint16_t key = le16_get(e);
		uint64_t bits = le64_get(e + 2);
		out[i].id = key & 0x0fff;
		out[i].kind = (uint8_t)(key >> 12);
		if (out[i].kind > SPK_MAX)
			return -1;
		memcpy(&out[i].v, &bits, 8);
	}
	return (int)n;
}

int
spool_payload_format(const uint8_t *p, size_t len)
{
	if (len < 1 || (p[0] != SPOOL_PAYLOAD_FORMAT && p[0] != SPOOL_PAYLOAD_EVENT))
		return -1;
	return p[0];
}

#define EVENT_HDR 16

int
spool_event_phase(const char *name)
{
	if (name != NULL && strcmp(name, "start") == 0)
		return 0;
	if (name != NULL && strcmp(name, "end") == 0)
		return 2;
	return 1;
}

int
spool_event_encode(struct buf *out, const struct spool_event *e)
{
	uint8_t hdr[EVENT_HDR];

	if (e->kind_len == 0 || e->kind_len > SPOOL_EVENT_KIND_MAX ||
	    e->detail_len > SPOOL_EVENT_DETAIL_MAX || e->phase < 0 || e->phase > 2)
		return -1;
	hdr[0] = SPOOL_PAYLOAD_EVENT;
	hdr[1] = (uint8_t)e->phase;
	hdr[2] = (uint8_t)e->kind_len;
	hdr[3] = 0;
	le64_put(hdr + 4, (uint64_t)e->start_delta_ns);
	le32_put(hdr + 12, (uint32_t)e->detail_len);
	if (buf_reserve(out, EVENT_HDR + e->kind_len + e->detail_len) < 0)
		return -1;
	buf_append(out, hdr, EVENT_HDR);
	buf_append(out, e->kind, e->kind_len);
	buf_append(out, e->detail, e->detail_len);
	return out->oom ? -1 : 0;
}

int
spool_event_decode(const uint8_t *p, size_t len, struct spool_event *e)
{
	if (len < EVENT_HDR || p[0] != SPOOL_PAYLOAD_EVENT || p[1] > 2 || p[3] != 0)
		return -1;
	e->phase = p[1];
	e->kind_len = p[2];
	e->start_delta_ns = (int64_t)le64_get(p + 4);
	e->detail_len = le32_get(p + 12);
	if (e->kind_len == 0 || e->kind_len > SPOOL_EVENT_KIND_MAX ||
	    len != EVENT_HDR + e->kind_len + e->detail_len)
		return -1;
	e->kind = (const char *)p + EVENT_HDR;
	e->detail = e->kind + e->kind_len;
	return 0;
}
