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
