/*
 * The durable spool: what a writer has taken from the sample bus and not yet
 * delivered, kept on disk across crashes, restarts and power cuts. Used by
 * the influx and the cloud worker, each with its own directory and policy.
 *
 * On disk (spool_fmt.h): append-only segment files DIR/<first rid, 16 hex>.seg,
 * each a 64-byte header (magic "LEAFSPL\n", format version, first record id,
 * creation time, boot id, CRC) and then records, each with a 32-byte header
 * (sync word, type, flags, length, index in the segment, capture time,
 * CLOCK_BOOTTIME of the capture, CRC-32 of header and payload). Record types:
 * data (an opaque payload, here a sample: spool_payload.h), mark (the
 * caller's checkpoint, written after the data it covers and made durable by
 * the same fsync) and footer (written when a segment is sealed: its count,
 * bytes and time range, so opening a large spool reads one footer per
 * segment instead of every record). DIR/state holds the acknowledged record
 * ids, the ledger and the clock anchors (text with a CRC, replaced
 * atomically). A segment whose version this code does not know is left
 * untouched under a .future name and reported; older versions are read.
 *
 * Life of a record: spool_append() queues it in memory; spool_commit()
 * writes what is queued plus a mark and fsyncs once (call it at most once a
 * second); cursors read records in id order, from the segments and then from
 * the memory queue, skipping acknowledged ones (acks of records not yet
 * durable are never persisted); spool_ack() records delivery; spool_maintain() deletes
 * segments with nothing left to deliver, enforces the byte cap (oldest
 * segments dropped, counted) and writes the state file. When the disk fails
 * (ENOSPC, EROFS, EIO) records stay in memory up to a bound (oldest dropped
 * beyond it, counted), cursors read them from memory, and the disk is
 * retried with backoff. Nothing here calls exit() or aborts.
 */
#ifndef LEAFMON_SPOOL_H
#define LEAFMON_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spool_fmt.h"

struct spool;
struct spool_cursor;

struct spool_opts {
	const char *dir;	/* created if missing */
	const char *name;	/* for log lines ("influx", "cloud") */
	uint64_t max_bytes;	/* the cap (spool_max_mb): oldest segments dropped beyond it */
	uint64_t seg_bytes;	/* 0: max_bytes / 16 within [64 KiB, 4 MiB] */
	uint64_t mem_max_bytes; /* queued in memory while the disk fails; 0: min(max_bytes, 8 MiB) */
	const uint8_t *boot_id; /* 16 bytes; NULL: this boot's (tests set their own) */
	int64_t state_interval_ns; /* acks written at most this often; 0: 1 s (fsynced every 30 s) */
};

/* What a writer knows about a record's capture (DESIGN.md "Time"). */
struct spool_meta {
	int64_t t_ns;	 /* CLOCK_REALTIME of the capture */
	int64_t boot_ns; /* CLOCK_BOOTTIME of the capture */
	bool synced;	 /* the realtime clock was synchronised then */
};

/* A record read back: valid until the cursor's next read. */
struct spool_rec {
	uint64_t rid;
	struct spool_meta m;
	const uint8_t *boot_id; /* 16 bytes: the boot it was captured in */
	const uint8_t *data;
	size_t len;
};

/* When the clock of a boot became synchronised: realtime = boottime + offset. */
struct spool_anchor {
	uint8_t boot_id[16];
	int64_t offset_ns;
	int64_t boot_ns_at_sync;
};
#define SPOOL_ANCHORS_MAX 32

/* The persistent half of the ledger (DESIGN.md "Sync ledger"); the writer
 * updates the delivery fields and calls spool_ledger_changed(). */
struct spool_ledger {
	int64_t last_success; /* Unix s */
	int64_t last_contact;
	int last_error_code;
	char last_error_text[256];
	int64_t last_error_at;
	uint64_t delivered;	  /* records acknowledged by the server */
	uint64_t dead_lettered;	  /* lines moved to the dead-letter file */
	uint64_t dropped_cap;	  /* records dropped by the byte cap */
	uint64_t dropped_mem;	  /* records dropped from memory while the disk failed */
	uint64_t dropped_policy;  /* records dropped by the writer's policy (retention) */
	uint64_t corrupt;	  /* records lost to corruption inside a segment */
	uint64_t torn;		  /* torn tails truncated after a crash */
	uint64_t torn_bytes;
	uint64_t sent_bytes_today;
	int64_t sent_day;	  /* days since the epoch of sent_bytes_today */
};

struct spool_stats {
	uint64_t queued_records; /* not yet acknowledged */
	uint64_t queued_bytes;	 /* their bytes on disk and in memory (approximate) */
	uint64_t disk_bytes;	 /* segment files */
	uint64_t mem_records;	 /* waiting in memory for the disk */
	uint64_t mem_bytes;
	int64_t oldest_t_ns;	 /* capture time of the oldest queued record, 0 none */
	uint64_t oldest_rid;
	uint64_t next_rid;
	uint64_t segments;
	uint64_t appended;	 /* since open */
	uint64_t committed;	 /* records made durable since open */
	uint64_t fsyncs;	 /* since open */
	uint64_t future_segments; /* left alone: newer format */
	int disk_errno;		 /* last disk error while it persists, 0 healthy */
	int64_t disk_error_since; /* Unix s */
};

/* Open (create) the spool. Scans the segments, truncates a torn tail
 * (counted), reads the state. Fails only on bad options or no memory: an
 * unusable directory means memory mode, reported in the stats. err gets a
 * reason on failure. */
int spool_open(struct spool **sp, const struct spool_opts *o, char *err, size_t errlen);
/* Commit, write the state, free. 0, or -1 when the final commit failed. */
int spool_close(struct spool *sp);

/* Queue a record in memory (never blocks on the disk). 0 with *rid, or -1
 * (EINVAL payload too big, ENOMEM). */
int spool_append(struct spool *sp, const struct spool_meta *m, const void *data, size_t len,
		 uint64_t *rid);
/*
 * Write every queued record and then the mark (mark_len <= SPOOL_MARK_MAX,
 * 0: keep the previous mark) and fsync once. 0 when it is all durable; -1
 * with errno when the disk failed (the records stay queued in memory and
 * the disk is retried by a later commit after a backoff).
 */
int spool_commit(struct spool *sp, const void *mark, size_t mark_len);
/* The last durable mark (after open: the one found on disk). */
size_t spool_mark(const struct spool *sp, void *buf, size_t cap);

/* Acknowledge [from, to): delivered (counted in ledger.delivered) or not. */
void spool_ack(struct spool *sp, uint64_t from, uint64_t to, bool delivered);
/* Drop [from, to) by the writer's policy; returns how many were queued. */
uint64_t spool_drop(struct spool *sp, uint64_t from, uint64_t to);
/* Periodic upkeep (about once a second): delete finished segments, keep the
 * cap, write the state when due. */
void spool_maintain(struct spool *sp);

/* Cursors read queued records in id order from [from, end) (end
 * UINT64_MAX: no bound), skipping acknowledged ones. */
int spool_cursor_open(struct spool *sp, uint64_t from, uint64_t end, struct spool_cursor **cp);
void spool_cursor_close(struct spool_cursor *c);
/* The record at the cursor, without moving: 1 (r filled), 0 none for now. */
int spool_peek(struct spool_cursor *c, struct spool_rec *r);
/* Move past the record spool_peek() returned. */
void spool_skip(struct spool_cursor *c);
/* The next id the cursor will consider. */
uint64_t spool_cursor_pos(const struct spool_cursor *c);
void spool_cursor_seek(struct spool_cursor *c, uint64_t rid);

uint64_t spool_oldest_rid(struct spool *sp);
uint64_t spool_next_rid(const struct spool *sp);
void spool_stats(struct spool *sp, struct spool_stats *st);
struct spool_ledger *spool_ledger(struct spool *sp);
void spool_ledger_changed(struct spool *sp);

/* ---- time (DESIGN.md "Time") ---- */
enum spool_time {
	SPOOL_TIME_FINAL,    /* captured with a synchronised clock */
	SPOOL_TIME_REBASED,  /* re-based on its boot's anchor */
	SPOOL_TIME_UNSYNCED, /* no anchor within the hold: send as is, flagged */
	SPOOL_TIME_HOLD,     /* wait: its boot may still synchronise */
};
/*
 * Observe the clock (once a second): the first time the clock of a boot is
 * synchronised, its anchor is recorded and made durable before any record
 * is re-based on it. Returns 1 when an anchor was added.
 */
int spool_clock_observe(struct spool *sp, bool synced, int64_t realtime_ns, int64_t boottime_ns);
/*
 * The timestamp to send a record with. Deterministic for a record once it
 * is released (not HOLD), so a resend carries the same time: an unsynced
 * record is re-based only on an anchor taken within hold_ns of its capture,
 * and held only while that can still happen in the current boot.
 */
enum spool_time spool_time_resolve(const struct spool_rec *r, const struct spool_anchor *anchors,
				   size_t nanchors, const uint8_t cur_boot[16], int64_t now_boot_ns,
				   int64_t hold_ns, int64_t *t_out);
/* Same with the spool's anchors and boot. */
enum spool_time spool_time(struct spool *sp, const struct spool_rec *r, int64_t now_boot_ns,
			   int64_t hold_ns, int64_t *t_out);
size_t spool_anchors(const struct spool *sp, const struct spool_anchor **out);

#endif
