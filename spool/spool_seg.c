/*
 * Segment files: create (header and the current mark, made durable), seal
 * (footer), load on open (header, footer or a full scan that finds the last
 * mark and truncates a torn tail), and the sequential reader the scan and
 * the cursors share, with resynchronisation after a corrupt record.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spool_int.h"
#include "util.h"

static struct log_rl rl_unlink = LOG_RL_INIT(5, 60);

void
seg_path(const struct spool *sp, uint64_t first_rid, char *out, size_t len)
{
	snprintf(out, len, "%s/%016" PRIx64 ".seg", sp->dir, first_rid);
}

void
segrd_init(struct segrd *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->first_rid = UINT64_MAX;
}

void
segrd_close(struct segrd *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	segrd_init(r);
}

static void
segrd_at(struct segrd *r, uint64_t off)
{
	r->off = off;
	r->pos = r->len = 0;
}

int
segrd_open(struct segrd *r, const struct spool *sp, const struct seg *sg)
{
	char path[PATH_MAX + 32];
	if (r->buf == NULL && (r->buf = malloc(SEGRD_CHUNK)) == NULL)
		return -1;
	r->cap = SEGRD_CHUNK;
	if (r->fd >= 0)
		close(r->fd);
	seg_path(sp, sg->first_rid, path, sizeof(path));
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	r->first_rid = r->fd >= 0 ? sg->first_rid : UINT64_MAX;
	segrd_at(r, SPOOL_SEGHDR_LEN);
	return r->fd >= 0 ? 0 : -1;
}

/* Keep buf[pos..len) and read more after it; bytes added, or -1. */
static ssize_t
segrd_fill(struct segrd *r)
{
	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->off += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	ssize_t n = pread(r->fd, r->buf + r->len, r->cap - r->len, (off_t)(r->off + r->len));
	if (n > 0)
		r->len += (size_t)n;
	return n;
}

enum segrd_result
segrd_next(struct segrd *r, uint64_t limit, struct spool_rechdr *h, const uint8_t **payload,
	   uint64_t *at)
{
	for (;;) {
		*at = r->off + r->pos;
		if (*at >= limit)
			return SEGRD_END;
		size_t avail = r->len - r->pos;
		if (avail > limit - *at)
			avail = (size_t)(limit - *at);
		long n = spool_fmt_rec_decode(r->buf + r->pos, avail, h);
		if (n > 0) {
			*payload = r->buf + r->pos + SPOOL_RECHDR_LEN;
			r->pos += (size_t)n;
			return SEGRD_REC;
		}
		if (n < 0 || *at + avail >= limit || segrd_fill(r) <= 0)
			return SEGRD_BAD;
	}
}

int
segrd_resync(struct segrd *r, uint64_t from, uint64_t limit)
{
	struct spool_rechdr h;
	segrd_at(r, from + 1);
	for (;;) {
		if (r->pos + 1 >= r->len) {
			if (r->off + r->len >= limit || segrd_fill(r) <= 0)
				return 0;
			continue;
		}
		const uint8_t *p = r->buf + r->pos;
		if (le16_get(p) != SPOOL_SYNC) {
			r->pos++;
			continue;
		}
		uint64_t at = r->off + r->pos;
		size_t avail = r->len - r->pos;
		if (avail > limit - at)
			avail = (size_t)(limit - at);
		long n = spool_fmt_rec_decode(p, avail, &h);
		if (n > 0)
			return 1; /* positioned at the record */
		/* the candidate may continue past what is buffered */
		if (n == 0 && at + avail < limit && (r->pos > 0 || r->len < r->cap) &&
		    segrd_fill(r) > 0)
			continue;
		r->pos++;
	}
}

/* A sealed segment ends with its footer: count and figures without a scan. */
static int
read_footer(int fd, uint64_t size, const struct spool_seghdr *hdr, struct seg *sg)
{
	uint8_t b[SPOOL_RECHDR_LEN + SPOOL_FOOTER_LEN];
	struct spool_rechdr h;
	struct spool_footer f;

	if (size < SPOOL_SEGHDR_LEN + sizeof(b) ||
	    pread(fd, b, sizeof(b), (off_t)(size - sizeof(b))) != (ssize_t)sizeof(b))
		return -1;
	if (spool_fmt_rec_decode(b, sizeof(b), &h) != (long)sizeof(b) || h.type != SPOOL_REC_FOOTER ||
	    spool_fmt_footer_decode(b + SPOOL_RECHDR_LEN, h.len, &f) < 0 ||
	    f.first_rid != hdr->first_rid || f.count != h.idx)
		return -1;
	sg->count = f.count;
	sg->data_bytes = f.data_bytes;
	sg->min_t = f.min_t_ns;
	sg->max_t = f.max_t_ns;
	sg->sealed = true;
	return 0;
}

struct scan {
	int64_t last_idx;
	uint64_t good_end;
};

static void
scan_data(struct spool *sp, struct seg *sg, struct scan *sc, const struct spool_rechdr *h)
{
	if ((int64_t)h->idx <= sc->last_idx)
		return; /* not after the previous: ignore (cannot happen unless forged) */
	if ((int64_t)h->idx > sc->last_idx + 1)
		loss_corrupt(sp, sg->first_rid + (uint64_t)(sc->last_idx + 1), sg->first_rid + h->idx);
	sc->last_idx = h->idx;
	sg->data_bytes += SPOOL_RECHDR_LEN + h->len;
	if (sg->min_t == 0 || h->t_ns < sg->min_t)
		sg->min_t = h->t_ns;
	if (h->t_ns > sg->max_t)
		sg->max_t = h->t_ns;
}

static void
torn_tail(struct spool *sp, int fd, struct seg *sg, uint64_t at, uint64_t size)
{
	loss_torn(sp, sg, size - at);
	if (ftruncate(fd, (off_t)at) == -1 || fdatasync(fd) == -1)
		log_warn("spool %s: truncate segment %016" PRIx64, sp->name, sg->first_rid);
}

/* Read every record: count, figures, the last mark; cut a torn tail. */
static void
scan_segment(struct spool *sp, int fd, struct seg *sg, uint64_t size, bool last)
{
	struct segrd r;
	struct spool_rechdr h;
	const uint8_t *payload;
	struct scan sc = {-1, SPOOL_SEGHDR_LEN};
	uint64_t at;

	segrd_init(&r);
	r.fd = fd;
	r.buf = malloc(SEGRD_CHUNK);
	r.cap = r.buf ? SEGRD_CHUNK : 0;
	segrd_at(&r, SPOOL_SEGHDR_LEN);
	while (r.buf != NULL) {
		enum segrd_result res = segrd_next(&r, size, &h, &payload, &at);
		if (res == SEGRD_END)
			break;
		if (res == SEGRD_BAD) {
			if (segrd_resync(&r, at, size)) {
				log_warnx("spool %s: segment %016" PRIx64 ": corrupt bytes at offset %" PRIu64
					  " skipped", sp->name, sg->first_rid, at);
				continue;
			}
			torn_tail(sp, fd, sg, at, size);
			size = at;
			break;
		}
		sc.good_end = at + SPOOL_RECHDR_LEN + h.len;
		if (h.type == SPOOL_REC_DATA)
			scan_data(sp, sg, &sc, &h);
		else if (h.type == SPOOL_REC_MARK && last && h.len <= SPOOL_MARK_MAX) {
			memcpy(sp->mark, payload, h.len);
			sp->mark_len = h.len;
		}
	}
	free(r.buf);
	sg->count = (uint32_t)(sc.last_idx + 1);
	sg->size = size;
}

/* Move a file aside (unknown version, unreadable header): never delete it. */
static void
set_aside(struct spool *sp, const char *path, const char *why, const char *suffix)
{
	char to[PATH_MAX + 48];
	snprintf(to, sizeof(to), "%s.%s", path, suffix);
	if (rename(path, to) == -1)
		log_warn("spool %s: rename %s", sp->name, path);
	log_warnx("spool %s: %s: %s; kept as %s", sp->name, path, why, to);
}

int
seg_load(struct spool *sp, const char *file, struct seg *sg, bool last)
{
	char path[PATH_MAX + 32];
	uint8_t hb[SPOOL_SEGHDR_LEN];
	struct spool_seghdr hdr;
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", sp->dir, file);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd == -1)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1) {
		log_warn("spool %s: %s", sp->name, path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memset(sg, 0, sizeof(*sg));
	ssize_t n = pread(fd, hb, sizeof(hb), 0);
	int rc = n == (ssize_t)sizeof(hb) ? spool_fmt_seghdr_decode(hb, &hdr) : -EBADMSG;
	if (rc == -EPROTONOSUPPORT) {
		char why[80];
		snprintf(why, sizeof(why), "format version %u is newer than this leafmon reads (%d..%d)",
			 hdr.version, SPOOL_FMT_MIN_VERSION, SPOOL_FMT_VERSION);
		set_aside(sp, path, why, "future");
		sp->future++;
	} else if (rc < 0 && last && st.st_size < SPOOL_SEGHDR_LEN) {
		/* a crash while creating it: nothing was ever in it */
		log_warnx("spool %s: %s: incomplete header of a new segment, removed", sp->name, path);
		unlink(path);
	} else if (rc < 0) {
		set_aside(sp, path, "not a spool segment (bad magic or header CRC)", "corrupt");
	}
	if (rc < 0) {
		close(fd);
		return -1;
	}
	sg->first_rid = hdr.first_rid;
	sg->version = hdr.version;
	memcpy(sg->boot_id, hdr.boot_id, 16);
	sg->size = (uint64_t)st.st_size;
	if (read_footer(fd, sg->size, &hdr, sg) < 0)
		scan_segment(sp, fd, sg, sg->size, last);
	close(fd);
	return 0;
}

/* Room for one more segment in sp->segs. */
int
seg_reserve(struct spool *sp)
{
	if (sp->nseg == sp->segcap) {
		size_t cap = sp->segcap ? sp->segcap * 2 : 16;
		struct seg *p = realloc(sp->segs, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		sp->segs = p;
		sp->segcap = cap;
	}
	return 0;
}

void
seg_remove(struct spool *sp, size_t i)
{
	char path[PATH_MAX + 32];
	seg_path(sp, sp->segs[i].first_rid, path, sizeof(path));
	if (unlink(path) == -1 && errno != ENOENT) {
		log_rl(&rl_unlink, LOG_WARNING, "spool %s: unlink %s: %s", sp->name, path,
		       strerror(errno));
		return;
	}
	if (i == sp->nseg - 1 && sp->afd >= 0) {
		close(sp->afd);
		sp->afd = -1;
	}
	memmove(&sp->segs[i], &sp->segs[i + 1], (sp->nseg - i - 1) * sizeof(sp->segs[0]));
	sp->nseg--;
}

int
seg_create(struct spool *sp, uint64_t first_rid)
{
	char path[PATH_MAX + 32];
	uint8_t b[SPOOL_SEGHDR_LEN + SPOOL_RECHDR_LEN + SPOOL_MARK_MAX];
	struct spool_seghdr hdr = {.version = SPOOL_FMT_VERSION, .first_rid = first_rid,
				   .created_ns = now_real_ns()};
	size_t len = SPOOL_SEGHDR_LEN;

	if (seg_reserve(sp) < 0)
		return -1;
	memcpy(hdr.boot_id, sp->boot, 16);
	spool_fmt_seghdr_encode(&hdr, b);
	if (sp->mark_len > 0) { /* the newest segment always holds the current mark */
		struct spool_rechdr h = {.type = SPOOL_REC_MARK, .len = (uint32_t)sp->mark_len};
		spool_fmt_rec_encode(&h, sp->mark, b + len);
		memcpy(b + len + SPOOL_RECHDR_LEN, sp->mark, sp->mark_len);
		len += SPOOL_RECHDR_LEN + sp->mark_len;
	}
	seg_path(sp, first_rid, path, sizeof(path));
	int fd = file_create(path, O_RDWR, 0600);
	if (fd == -1)
		return -1;
	if (write_all(fd, b, len) < 0 || fdatasync(fd) == -1 || fsync_dir_of(path) == -1) {
		int saved = errno;
		close(fd);
		unlink(path);
		errno = saved;
		return -1;
	}
	sp->fsyncs++;
	struct seg *sg = &sp->segs[sp->nseg++];
	memset(sg, 0, sizeof(*sg));
	sg->first_rid = first_rid;
	sg->size = len;
	sg->version = SPOOL_FMT_VERSION;
	memcpy(sg->boot_id, sp->boot, 16);
	sp->afd = fd;
	return 0;
}

int
seg_seal(struct spool *sp)
{
	uint8_t b[SPOOL_RECHDR_LEN + SPOOL_FOOTER_LEN];
	int rc = 0;
	if (sp->afd < 0 || sp->nseg == 0)
		return 0;
	struct seg *sg = &sp->segs[sp->nseg - 1];
	struct spool_footer f = {.count = sg->count, .data_bytes = sg->data_bytes,
				 .min_t_ns = sg->min_t, .max_t_ns = sg->max_t,
				 .first_rid = sg->first_rid};
	struct spool_rechdr h = {.type = SPOOL_REC_FOOTER, .len = SPOOL_FOOTER_LEN,
				 .idx = sg->count};
	spool_fmt_footer_encode(&f, b + SPOOL_RECHDR_LEN);
	spool_fmt_rec_encode(&h, b + SPOOL_RECHDR_LEN, b);
	if (pwrite(sp->afd, b, sizeof(b), (off_t)sg->size) == (ssize_t)sizeof(b) &&
	    fdatasync(sp->afd) == 0) {
		sg->size += sizeof(b);
		sp->fsyncs++;
	} else {
		int saved = errno;
		log_warn("spool %s: sealing segment %016" PRIx64 " (it will be scanned on open)",
			 sp->name, sg->first_rid);
		if (ftruncate(sp->afd, (off_t)sg->size) == -1)
			log_warn("spool %s: truncate", sp->name);
		errno = saved;
		rc = -1;
	}
	sg->sealed = true;
	close(sp->afd);
	sp->afd = -1;
	return rc;
}

int
seg_find(const struct spool *sp, uint64_t rid)
{
	size_t lo = 0, hi = sp->nseg;
	/* first segment whose ids end after rid */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sp->segs[mid].first_rid + sp->segs[mid].count > rid)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (int)lo;
}
