/*
 * Internals of the spool, not for its users. The files are layers, each
 * calling only those below it: spool_loss.c (counting what is lost),
 * spool_seg.c (segment files), spool_queue.c (the memory queue and its
 * writing into segments), spool_read.c (cursors) and, on top, spool.c
 * (open, commit, acks, the cap, the state file, disk failures, figures).
 */
#ifndef LEAFMON_SPOOL_INT_H
#define LEAFMON_SPOOL_INT_H

#include <limits.h>

#include "spool.h"
#include "spool_state.h"

#define SEGRD_CHUNK (256 * 1024)

/* One segment file, as known in memory. Ids first_rid .. first_rid+count-1. */
struct seg {
	uint64_t first_rid;
	uint32_t count;
	uint64_t size;	     /* valid bytes of the file */
	uint64_t data_bytes; /* bytes of data records, headers included */
	int64_t min_t, max_t;
	uint8_t boot_id[16];
	uint16_t version;
	bool sealed; /* never appended to again */
};

/* Sequential reader over one segment file. */
struct segrd {
	int fd;
	uint64_t first_rid; /* of the segment it reads; UINT64_MAX: none */
	uint64_t off;	    /* file offset of buf[0] */
	size_t pos, len;    /* parsed / filled bytes of buf */
	uint8_t *buf;
	size_t cap;
};

enum segrd_result { SEGRD_REC, SEGRD_END, SEGRD_BAD };

struct spool_cursor {
	struct spool *sp;
	uint64_t next, end;
	struct segrd rd;
	uint64_t rd_min; /* the smallest id the reader can still return */
	bool have;
	struct spool_rec rec;
	uint8_t boot[16];
	uint8_t *data; /* copy of the peeked payload */
	struct spool_cursor *link;
};

struct spool {
	char dir[PATH_MAX];
	char name[32];
	uint64_t max_bytes, seg_bytes, mem_max;
	int64_t state_interval;
	uint8_t boot[16];
	struct seg *segs;
	size_t nseg, segcap;
	int afd; /* open for appending to segs[nseg-1], or -1 */
	uint64_t next_rid;
	/* records waiting for the disk: ids pfirst.., entries poff[phead..pn) in pbuf */
	struct buf pbuf;
	size_t *poff;
	size_t phead, pn, pcap;
	uint64_t pfirst;
	uint64_t pbytes;
	uint8_t mark[SPOOL_MARK_MAX], pmark[SPOOL_MARK_MAX];
	size_t mark_len, pmark_len;
	bool pmark_set;
	struct spool_state st;
	bool state_dirty;
	int64_t state_at, state_synced_at;
	int disk_errno;
	int64_t disk_since, disk_retry_at, disk_backoff;
	struct spool_cursor *cursors, *oldest;
	uint64_t appended, committed, fsyncs, future;
	struct buf wbuf; /* commit's write buffer, kept between commits */
};

/* A queued entry in pbuf: this header, then the payload. */
struct pent {
	int64_t t_ns, boot_ns;
	uint32_t len;
	uint8_t synced;
};

/* spool_loss.c: count what will never be delivered, by cause, and
 * acknowledge it */
void loss_memory(struct spool *sp, uint64_t rid);	    /* the memory bound */
void loss_cap(struct spool *sp, const struct seg *s);	    /* s is dropped by the cap */
uint64_t loss_policy(struct spool *sp, uint64_t from, uint64_t to); /* how many were queued */
void loss_corrupt(struct spool *sp, uint64_t from, uint64_t to);
void loss_torn(struct spool *sp, const struct seg *sg, uint64_t bytes);

/* spool_seg.c */
void seg_path(const struct spool *sp, uint64_t first_rid, char *out, size_t len);
int seg_load(struct spool *sp, const char *file, struct seg *sg, bool last);
int seg_reserve(struct spool *sp);
int seg_create(struct spool *sp, uint64_t first_rid);
int seg_seal(struct spool *sp);
/* Delete segs[i]'s file and forget it (kept when unlink fails: nseg unchanged). */
void seg_remove(struct spool *sp, size_t i);
int seg_find(const struct spool *sp, uint64_t rid); /* index of the segment holding rid, or of the first after it; nseg if none */
void segrd_init(struct segrd *r);
void segrd_close(struct segrd *r);
int segrd_open(struct segrd *r, const struct spool *sp, const struct seg *sg);
enum segrd_result segrd_next(struct segrd *r, uint64_t limit, struct spool_rechdr *h,
			     const uint8_t **payload, uint64_t *at);
int segrd_resync(struct segrd *r, uint64_t from, uint64_t limit);

/* spool_queue.c (and spool_append) */
size_t queue_len(const struct spool *sp);
/* The queued record rid: 0, or -1 when it is not in memory. */
int queue_entry(const struct spool *sp, uint64_t rid, struct pent *e, const uint8_t **payload);
/* Write every queued record, then the pending mark, and fdatasync: 0, or
 * -1 with errno (what was not written stays queued). */
int queue_write(struct spool *sp);

#endif
