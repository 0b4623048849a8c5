/*
 * Encoding and decoding of segment headers, record headers and footers.
 * Integers are little-endian; CRCs are zlib's CRC-32. Pure: no I/O.
 */
#include "spool_fmt.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

const uint8_t spool_fmt_magic[8] = {'L', 'E', 'A', 'F', 'S', 'P', 'L', '\n'};

void
spool_fmt_seghdr_encode(const struct spool_seghdr *h, uint8_t out[SPOOL_SEGHDR_LEN])
{
	memset(out, 0, SPOOL_SEGHDR_LEN);
	memcpy(out, spool_fmt_magic, 8);
	le16_put(out + 8, h->version);
	le16_put(out + 10, SPOOL_SEGHDR_LEN);
	le32_put(out + 12, h->flags);
	le64_put(out + 16, h->first_rid);
	le64_put(out + 24, (uint64_t)h->created_ns);
	memcpy(out + 32, h->boot_id, 16);
	le32_put(out + 60, (uint32_t)crc32(0, out, 60));
}

int
spool_fmt_seghdr_decode(const uint8_t in[SPOOL_SEGHDR_LEN], struct spool_seghdr *h)
{
	memset(h, 0, sizeof(*h));
	if (memcmp(in, spool_fmt_magic, 8) != 0)
		return -EBADMSG;
	h->version = le16_get(in + 8);
	/* the CRC's place is fixed in every version: the magic and version
	 * are enough to refuse a newer layout without misreading it */
	if (h->version < SPOOL_FMT_MIN_VERSION || h->version > SPOOL_FMT_VERSION)
		return -EPROTONOSUPPORT;
	if (le16_get(in + 10) != SPOOL_SEGHDR_LEN || le32_get(in + 60) != (uint32_t)crc32(0, in, 60))
		return -EBADMSG;
	h->flags = le32_get(in + 12);
	h->first_rid = le64_get(in + 16);
	h->created_ns = (int64_t)le64_get(in + 24);
	memcpy(h->boot_id, in + 32, 16);
	return 0;
}

static uint32_t
rec_crc(const uint8_t *hdr, const void *payload, uint32_t len)
{
	uLong c = crc32(0, hdr, 12);
	c = crc32(c, hdr + 16, SPOOL_RECHDR_LEN - 16);
	if (len > 0)
		c = crc32(c, payload, len);
	return (uint32_t)c;
}

void
spool_fmt_rec_encode(const struct spool_rechdr *h, const void *payload,
		     uint8_t out[SPOOL_RECHDR_LEN])
{
	le16_put(out, SPOOL_SYNC);
	out[2] = h->type;
	out[3] = h->flags;
	le32_put(out + 4, h->len);
	le32_put(out + 8, h->idx);
	le64_put(out + 16, (uint64_t)h->t_ns);
	le64_put(out + 24, (uint64_t)h->boot_ns);
	le32_put(out + 12, rec_crc(out, payload, h->len));
}

long
spool_fmt_rec_decode(const uint8_t *buf, size_t avail, struct spool_rechdr *h)
{
	if (avail < 8)
		return avail >= 2 && le16_get(buf) != SPOOL_SYNC ? -1 : 0;
	if (le16_get(buf) != SPOOL_SYNC || buf[2] < SPOOL_REC_DATA || buf[2] > SPOOL_REC_FOOTER)
		return -1;
	uint32_t len = le32_get(buf + 4);
	if (len > SPOOL_REC_MAX)
		return -1;
	if (avail < SPOOL_RECHDR_LEN + (size_t)len)
		return 0;
	if (le32_get(buf + 12) != rec_crc(buf, buf + SPOOL_RECHDR_LEN, len))
		return -1;
	h->type = buf[2];
	h->flags = buf[3];
	h->len = len;
	h->idx = le32_get(buf + 8);
	h->t_ns = (int64_t)le64_get(buf + 16);
	h->boot_ns = (int64_t)le64_get(buf + 24);
	return (long)(SPOOL_RECHDR_LEN + len);
}

void
spool_fmt_footer_encode(const struct spool_footer *f, uint8_t out[SPOOL_FOOTER_LEN])
{
	le32_put(out, f->count);
	le32_put(out + 4, 0);
	le64_put(out + 8, f->data_bytes);
	le64_put(out + 16, (uint64_t)f->min_t_ns);
	le64_put(out + 24, (uint64_t)f->max_t_ns);
	le64_put(out + 32, f->first_rid);
}

int
spool_fmt_footer_decode(const uint8_t *in, size_t len, struct spool_footer *f)
{
	if (len != SPOOL_FOOTER_LEN)
		return -1;
	f->count = le32_get(in);
	f->data_bytes = le64_get(in + 8);
	f->min_t_ns = (int64_t)le64_get(in + 16);
	f->max_t_ns = (int64_t)le64_get(in + 24);
	f->first_rid = le64_get(in + 32);
	return 0;
}

int
spool_fmt_boot_id_parse(const char *s, uint8_t out[16])
{
	int n = 0;
	for (; *s != '\0' && n < 32; s++) {
		if (*s == '-')
			continue;
		int v = hex_digit(*s);
		if (v < 0)
			return -1;
		if (n % 2 == 0)
			out[n / 2] = (uint8_t)(v << 4);
		else
			out[n / 2] |= (uint8_t)v;
		n++;
	}
	return n == 32 && *s == '\0' ? 0 : -1;
}

void
spool_fmt_boot_id_format(const uint8_t id[16], char out[37])
{
	char *p = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", id[i]);
	}
}
