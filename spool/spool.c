/*
 * The spool, on top of its parts (spool_int.h): open (segments, state),
 * commit, acknowledgements, the byte cap, the state file, disk failures,
 * figures, the ledger and clock anchors. The memory queue is in
 * spool_queue.c, cursors in spool_read.c, segment files in spool_seg.c,
 * loss accounting in spool_loss.c. See spool.h for the contract.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "spool_int.h"
#include "util.h"

#define DISK_BACKOFF_MIN (1 * NSEC_PER_SEC)
#define DISK_BACKOFF_MAX (30 * NSEC_PER_SEC)
#define STATE_MAX (16 * 1024 * 1024)
#define STATE_SYNC_NS (30 * NSEC_PER_SEC)

static struct log_rl rl_disk = LOG_RL_INIT(5, 60);

/* ---- state file ---- */

/* Replace path atomically without fsync (file_replace). */
static int
write_replace(const char *path, const void *data, size_t len)
{
	return file_replace(path, data, len, 0600);
}

/*
 * Acks are written often and fsynced seldom: a crash of the process loses
 * none of them, a power cut at most STATE_SYNC_NS worth (those records are
 * sent again: the server overwrites identical points).
 */
static int
state_write(struct spool *sp, bool sync)
{
	char path[PATH_MAX + 16];
	struct spool_state copy = sp->st;
	struct buf b;

	/* acks of records not yet durable must not outlive a crash: their ids
	 * would be given to new records */
	ackset_init(&copy.acked);
	for (size_t i = 0; i < sp->st.acked.n; i++)
		if (ackset_add(&copy.acked, sp->st.acked.r[i][0], sp->st.acked.r[i][1]) < 0)
			break;
	ackset_trim_above(&copy.acked, sp->pfirst);
	buf_init(&b);
	spool_state_encode(&copy, &b);
	ackset_free(&copy.acked);
	snprintf(path, sizeof(path), "%s/state", sp->dir);
	int rc = b.oom ? -1 : sync ? file_write_atomic(path, b.p, b.len, 0600)
				  : write_replace(path, b.p, b.len);
	buf_free(&b);
	if (rc < 0) {
		log_rl(&rl_disk, LOG_WARNING, "spool %s: writing %s: %s", sp->name, path,
		       strerror(errno));
		return -1;
	}
	sp->state_dirty = false;
	sp->state_at = now_mono_ns();
	if (sync) {
		sp->fsyncs += 2;
		sp->state_synced_at = sp->state_at;
	}
	return 0;
}

static void
state_read(struct spool *sp)
{
	char path[PATH_MAX + 16], why[128];
	size_t len;

	snprintf(path, sizeof(path), "%s/state", sp->dir);
	char *text = file_read_str(path, STATE_MAX, &len);
	if (text == NULL) {
		if (errno != ENOENT)
			log_warn("spool %s: %s (every queued record will be sent again)", sp->name,
				 path);
		return;
	}
	if (spool_state_decode(text, &sp->st, why, sizeof(why)) < 0) {
		log_warnx("spool %s: %s: %s: every queued record will be sent again", sp->name, path,
			  why);
		ackset_clear(&sp->st.acked);
		sp->st.nanchors = 0;
		memset(&sp->st.ledger, 0, sizeof(sp->st.ledger));
	}
	free(text);
}

/* ---- disk health ---- */

static void
disk_fail(struct spool *sp, int err)
{
	int64_t now = now_mono_ns();
	if (sp->disk_errno == 0) {
		sp->disk_since = now_real_ns() / NSEC_PER_SEC;
		sp->disk_backoff = DISK_BACKOFF_MIN;
	} else {
		sp->disk_backoff *= 2;
		if (sp->disk_backoff > DISK_BACKOFF_MAX)
			sp->disk_backoff = DISK_BACKOFF_MAX;
	}
	sp->disk_errno = err ? err : EIO;
	sp->disk_retry_at = now + sp->disk_backoff;
	log_rl(&rl_disk, LOG_WARNING,
	       "spool %s: disk write failed: %s; %zu records wait in memory, retry in %.0f s",
	       sp->name, strerror(sp->disk_errno), queue_len(sp),
	       (double)sp->disk_backoff / 1e9);
}

static void
disk_ok(struct spool *sp)
{
	if (sp->disk_errno == 0)
		return;
	log_info("spool %s: disk writable again after %s", sp->name, strerror(sp->disk_errno));
	sp->disk_errno = 0;
	sp->disk_backoff = 0;
}

/* ---- segments list ---- */

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
is_seg_name(const char *n)
{
	if (strlen(n) != 20 || strcmp(n + 16, ".seg") != 0)
		return false;
	for (int i = 0; i < 16; i++)
		if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
			return false;
	return true;
}

/* Segment file names, sorted (16 hex digits: numeric order). */
static char **
list_segments(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t cap = 0;
	struct dirent *e;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		if (!is_seg_name(e->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			char **p = realloc(names, cap * sizeof(*p));
			if (p == NULL)
				break;
			names = p;
		}
		if ((names[*n] = strdup(e->d_name)) != NULL)
			(*n)++;
	}
	closedir(d);
	if (*n > 0)
		qsort(names, *n, sizeof(*names), name_cmp);
	return names;
}

static int
seg_push(struct spool *sp, const struct seg *sg)
{
	if (seg_reserve(sp) < 0)
		return -1;
	sp->segs[sp->nseg++] = *sg;
	return 0;
}

/* The mark of a spool whose newest segment has none (a crash between
 * sealing and creating the next): the newest mark in an older one. */
static void
find_mark_backwards(struct spool *sp)
{
	struct segrd r;
	struct spool_rechdr h;
	const uint8_t *payload;
	uint64_t at;

	segrd_init(&r);
	for (size_t i = sp->nseg; i-- > 0 && sp->mark_len == 0;) {
		if (segrd_open(&r, sp, &sp->segs[i]) < 0)
			continue;
		while (segrd_next(&r, sp->segs[i].size, &h, &payload, &at) == SEGRD_REC)
			if (h.type == SPOOL_REC_MARK && h.len <= SPOOL_MARK_MAX) {
				memcpy(sp->mark, payload, h.len);
				sp->mark_len = h.len;
			}
	}
	segrd_close(&r);
}

static void
load_segments(struct spool *sp)
{
	size_t n;
	char **names = list_segments(sp->dir, &n);
	struct seg sg;

	for (size_t i = 0; i < n; i++) {
		if (seg_load(sp, names[i], &sg, i == n - 1) == 0 && seg_push(sp, &sg) < 0)
			log_warnx("spool %s: out of memory listing segments", sp->name);
		free(names[i]);
	}
	free(names);
	if (sp->mark_len == 0 && sp->nseg > 0)
		find_mark_backwards(sp);
}

/* The newest segment takes appends only if it is ours: current format,
 * this boot, not sealed. Otherwise seal it and start a new one. */
static void
open_active(struct spool *sp)
{
	char path[PATH_MAX + 32];
	if (sp->nseg == 0)
		return;
	struct seg *sg = &sp->segs[sp->nseg - 1];
	if (sg->sealed)
		return;
	seg_path(sp, sg->first_rid, path, sizeof(path));
	sp->afd = open(path, O_RDWR | O_CLOEXEC);
	if (sp->afd < 0) {
		sg->sealed = true;
		return;
	}
	if (sg->version != SPOOL_FMT_VERSION || memcmp(sg->boot_id, sp->boot, 16) != 0)
		seg_seal(sp);
}

static void
set_options(struct spool *sp, const struct spool_opts *o)
{
	snprintf(sp->dir, sizeof(sp->dir), "%s", o->dir);
	snprintf(sp->name, sizeof(sp->name), "%s", o->name ? o->name : "spool");
	sp->max_bytes = o->max_bytes ? o->max_bytes : 256ull << 20;
	sp->seg_bytes = o->seg_bytes;
	if (sp->seg_bytes == 0) {
		sp->seg_bytes = sp->max_bytes / 16;
		if (sp->seg_bytes < (64u << 10))
			sp->seg_bytes = 64u << 10;
		if (sp->seg_bytes > (4u << 20))
			sp->seg_bytes = 4u << 20;
	}
	sp->mem_max = o->mem_max_bytes;
	if (sp->mem_max == 0)
		sp->mem_max = sp->max_bytes < (8u << 20) ? sp->max_bytes : (8u << 20);
	sp->state_interval = o->state_interval_ns ? o->state_interval_ns : NSEC_PER_SEC;
	char bid[37];
	if (o->boot_id != NULL)
		memcpy(sp->boot, o->boot_id, 16);
	else if (clock_boot_id(bid) < 0 || spool_fmt_boot_id_parse(bid, sp->boot) < 0)
		memset(sp->boot, 0, 16);
}

static void
log_opened(struct spool *sp)
{
	struct spool_stats st;
	spool_stats(sp, &st);
	log_info("spool %s: %s: %" PRIu64 " segments, %" PRIu64 " records queued (%" PRIu64
		 " bytes), next id %" PRIu64 "%s",
		 sp->name, sp->dir, st.segments, st.queued_records, st.queued_bytes, sp->next_rid,
		 sp->mark_len ? "" : ", no checkpoint mark");
}

int
spool_open(struct spool **spp, const struct spool_opts *o, char *err, size_t errlen)
{
	if (o == NULL || o->dir == NULL || o->dir[0] == '\0' || strlen(o->dir) >= PATH_MAX - 64) {
		snprintf(err, errlen, "spool: no directory or path too long");
		return -1;
	}
	struct spool *sp = calloc(1, sizeof(*sp));
	if (sp == NULL) {
		snprintf(err, errlen, "spool: %s", strerror(ENOMEM));
		return -1;
	}
	set_options(sp, o);
	sp->afd = -1;
	ackset_init(&sp->st.acked);
	buf_init(&sp->pbuf);
	buf_init(&sp->wbuf);
	if (mkdir_p(sp->dir, 0700) < 0) {
		disk_fail(sp, errno); /* memory mode; the disk is retried on commit */
	} else {
		state_read(sp);
		load_segments(sp);
		open_active(sp);
	}
	if (sp->nseg > 0) {
		struct seg *last = &sp->segs[sp->nseg - 1];
		sp->next_rid = last->first_rid + last->count;
		ackset_trim_below(&sp->st.acked, sp->segs[0].first_rid);
	}
	ackset_trim_above(&sp->st.acked, sp->next_rid);
	sp->pfirst = sp->next_rid;
	if (spool_cursor_open(sp, 0, UINT64_MAX, &sp->oldest) < 0) {
		snprintf(err, errlen, "spool: %s", strerror(ENOMEM));
		spool_close(sp);
		return -1;
	}
	log_opened(sp);
	*spp = sp;
	return 0;
}

int
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return 0;
	int rc = spool_commit(sp, NULL, 0);
	if (sp->disk_errno == 0 || rc == 0)
		state_write(sp, true);
	while (sp->cursors != NULL)
		spool_cursor_close(sp->cursors);
	if (sp->afd >= 0)
		close(sp->afd);
	if (queue_len(sp) > 0)
		log_warnx("spool %s: closing with %zu records not written (disk: %s)", sp->name,
			  queue_len(sp), strerror(sp->disk_errno));
	ackset_free(&sp->st.acked);
	buf_free(&sp->pbuf);
	buf_free(&sp->wbuf);
	free(sp->poff);
	free(sp->segs);
	free(sp);
	return rc;
}

static uint64_t
disk_bytes(const struct spool *sp)
{
	uint64_t n = 0;
	for (size_t i = 0; i < sp->nseg; i++)
		n += sp->segs[i].size;
	return n;
}

/* The cap: drop the oldest segments (never the newest, which holds the
 * mark), counting the records in them that were still queued. */
static void
enforce_cap(struct spool *sp)
{
	uint64_t total = disk_bytes(sp) + sp->pbytes;
	while (total > sp->max_bytes && sp->nseg > 1) {
		uint64_t size = sp->segs[0].size;
		size_t before = sp->nseg;
		loss_cap(sp, &sp->segs[0]);
		seg_remove(sp, 0);
		if (sp->nseg == before)
			break; /* could not unlink: try again later */
		total -= size;
	}
}

int
spool_commit(struct spool *sp, const void *mark, size_t mark_len)
{
	if (mark_len > SPOOL_MARK_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (mark_len > 0) {
		memcpy(sp->pmark, mark, mark_len);
		sp->pmark_len = mark_len;
		sp->pmark_set = true;
	}
	if (queue_len(sp) == 0 && !sp->pmark_set)
		return 0;
	if (sp->disk_errno != 0 && now_mono_ns() < sp->disk_retry_at) {
		errno = sp->disk_errno;
		return -1;
	}
	if ((sp->disk_errno != 0 && mkdir_p(sp->dir, 0700) < 0) || queue_write(sp) < 0) {
		int saved = errno;
		disk_fail(sp, saved);
		errno = saved;
		return -1;
	}
	disk_ok(sp);
	enforce_cap(sp);
	return 0;
}

size_t
spool_mark(const struct spool *sp, void *buf, size_t cap)
{
	size_t n = sp->mark_len < cap ? sp->mark_len : cap;
	memcpy(buf, sp->mark, n);
	return n;
}

/* ---- acknowledgements and upkeep ---- */

void
spool_ack(struct spool *sp, uint64_t from, uint64_t to, bool delivered)
{
	if (to > sp->next_rid)
		to = sp->next_rid;
	if (delivered)
		sp->st.ledger.delivered += ackset_missing_in(&sp->st.acked, from, to);
	ackset_add(&sp->st.acked, from, to);
	sp->state_dirty = true;
}

uint64_t
spool_drop(struct spool *sp, uint64_t from, uint64_t to)
{
	if (to > sp->next_rid)
		to = sp->next_rid;
	return loss_policy(sp, from, to);
}

/* Delete segments with nothing left to deliver (never the newest). */
static void
delete_finished(struct spool *sp)
{
	for (size_t i = 0; i + 1 < sp->nseg;) {
		struct seg *s = &sp->segs[i];
		size_t before = sp->nseg;
		if (ackset_count_in(&sp->st.acked, s->first_rid, s->first_rid + s->count) == s->count)
			seg_remove(sp, i);
		if (sp->nseg == before)
			i++;
	}
	ackset_trim_below(&sp->st.acked, sp->nseg > 0 ? sp->segs[0].first_rid : sp->pfirst);
}

void
spool_maintain(struct spool *sp)
{
	delete_finished(sp);
	enforce_cap(sp);
	int64_t now = now_mono_ns();
	if (sp->state_dirty && now - sp->state_at >= sp->state_interval &&
	    (sp->disk_errno == 0 || now >= sp->disk_retry_at))
		state_write(sp, now - sp->state_synced_at >= STATE_SYNC_NS);
}

/* ---- figures ---- */

uint64_t
spool_next_rid(const struct spool *sp)
{
	return sp->next_rid;
}

uint64_t
spool_oldest_rid(struct spool *sp)
{
	struct spool_rec r;
	spool_cursor_seek(sp->oldest, spool_cursor_pos(sp->oldest));
	return spool_peek(sp->oldest, &r) ? r.rid : sp->next_rid;
}

void
spool_stats(struct spool *sp, struct spool_stats *st)
{
	struct spool_rec r;
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < sp->nseg; i++) {
		const struct seg *s = &sp->segs[i];
		uint64_t q = s->count - ackset_count_in(&sp->st.acked, s->first_rid,
							 s->first_rid + s->count);
		st->queued_records += q;
		st->queued_bytes += s->count ? s->data_bytes * q / s->count : 0;
		st->disk_bytes += s->size;
	}
	st->mem_records = queue_len(sp);
	st->mem_bytes = sp->pbytes;
	uint64_t mq = ackset_missing_in(&sp->st.acked, sp->pfirst, sp->next_rid);
	st->queued_records += mq;
	st->queued_bytes += st->mem_records ? sp->pbytes * mq / st->mem_records : 0;
	if (spool_peek(sp->oldest, &r)) {
		st->oldest_t_ns = r.m.t_ns;
		st->oldest_rid = r.rid;
	} else {
		st->oldest_rid = sp->next_rid;
	}
	st->next_rid = sp->next_rid;
	st->segments = sp->nseg;
	st->appended = sp->appended;
	st->committed = sp->committed;
	st->fsyncs = sp->fsyncs;
	st->future_segments = sp->future;
	st->disk_errno = sp->disk_errno;
	st->disk_error_since = sp->disk_errno ? sp->disk_since : 0;
}

struct spool_ledger *
spool_ledger(struct spool *sp)
{
	return &sp->st.ledger;
}

void
spool_ledger_changed(struct spool *sp)
{
	sp->state_dirty = true;
}

/* ---- time ---- */

int
spool_clock_observe(struct spool *sp, bool synced, int64_t realtime_ns, int64_t boottime_ns)
{
	if (!synced)
		return 0;
	for (size_t i = 0; i < sp->st.nanchors; i++)
		if (memcmp(sp->st.anchors[i].boot_id, sp->boot, 16) == 0)
			return 0;
	struct spool_anchor a = {.offset_ns = realtime_ns - boottime_ns,
				 .boot_ns_at_sync = boottime_ns};
	memcpy(a.boot_id, sp->boot, 16);
	spool_state_anchor(&sp->st, &a);
	sp->state_dirty = true;
	if (state_write(sp, true) < 0)
		log_warnx("spool %s: the clock anchor is not durable yet", sp->name);
	log_info("spool %s: clock synchronised: records of this boot taken before now are "
		 "re-based before they are sent",
		 sp->name);
	return 1;
}

size_t
spool_anchors(const struct spool *sp, const struct spool_anchor **out)
{
	*out = sp->st.anchors;
	return sp->st.nanchors;
}

enum spool_time
spool_time(struct spool *sp, const struct spool_rec *r, int64_t now_boot_ns, int64_t hold_ns,
	   int64_t *t_out)
{
	return spool_time_resolve(r, sp->st.anchors, sp->st.nanchors, sp->boot, now_boot_ns, hold_ns,
				  t_out);
}
