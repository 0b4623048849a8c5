/*
 * The spool's on-disk format, as pure encode/decode functions (no I/O).
 * A segment file is a 64-byte header followed by records; every record has
 * a 32-byte header with its own CRC. Layout and version policy: spool.h.
 */
#ifndef LEAFMON_SPOOL_FMT_H
#define LEAFMON_SPOOL_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_FMT_VERSION 1	  /* written by this code */
#define SPOOL_FMT_MIN_VERSION 1	  /* oldest version this code reads */
#define SPOOL_SEGHDR_LEN 64
#define SPOOL_RECHDR_LEN 32
#define SPOOL_REC_MAX 65536	  /* largest payload */
#define SPOOL_SYNC 0x4c52	  /* "RL" */
#define SPOOL_FOOTER_LEN 40	  /* footer payload */
#define SPOOL_MARK_MAX 256
extern const uint8_t spool_fmt_magic[8];

enum spool_rec_type { SPOOL_REC_DATA = 1, SPOOL_REC_MARK = 2, SPOOL_REC_FOOTER = 3 };
#define SPOOL_RECF_SYNCED 0x01 /* the realtime clock was synchronised at capture */

struct spool_seghdr {
	uint16_t version;
	uint32_t flags;
	uint64_t first_rid;
	int64_t created_ns;
	uint8_t boot_id[16];
};

struct spool_rechdr {
	uint8_t type;
	uint8_t flags;
	uint32_t len; /* payload bytes */
	uint32_t idx; /* data: index in the segment; mark, footer: data records before */
	int64_t t_ns;
	int64_t boot_ns;
};

struct spool_footer {
	uint32_t count;
	uint64_t data_bytes;
	int64_t min_t_ns;
	int64_t max_t_ns;
	uint64_t first_rid;
};

void spool_fmt_seghdr_encode(const struct spool_seghdr *h, uint8_t out[SPOOL_SEGHDR_LEN]);
/* 0; -EBADMSG (not a segment, or its header CRC fails); -EPROTONOSUPPORT
 * (a version this code does not read: h->version says which). */
int spool_fmt_seghdr_decode(const uint8_t in[SPOOL_SEGHDR_LEN], struct spool_seghdr *h);

/* Header for a payload, CRC over header and payload. */
void spool_fmt_rec_encode(const struct spool_rechdr *h, const void *payload,
			  uint8_t out[SPOOL_RECHDR_LEN]);
/*
 * Decode the record at buf (avail bytes). Returns its total size when it is
 * whole and valid, 0 when more bytes are needed (avail too short for what
 * the header announces), -1 when it is not a valid record.
 */
long spool_fmt_rec_decode(const uint8_t *buf, size_t avail, struct spool_rechdr *h);

void spool_fmt_footer_encode(const struct spool_footer *f, uint8_t out[SPOOL_FOOTER_LEN]);
int spool_fmt_footer_decode(const uint8_t *in, size_t len, struct spool_footer *f);

/* Boot ids: "xxxxxxxx-xxxx-..." (36 chars) <-> 16 bytes. */
int spool_fmt_boot_id_parse(const char *s, uint8_t out[16]);
void spool_fmt_boot_id_format(const uint8_t id[16], char out[37]);

static inline void
le16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void
le32_put(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void
le64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t
le16_get(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t
le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}
static inline uint64_t
le64_get(const uint8_t *p)
{
	return (uint64_t)le32_get(p) | ((uint64_t)le32_get(p + 4) << 32);
}

#endif
