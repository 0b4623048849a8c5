/*
 * Test helpers for the spool (see spool_testlib.h). Deterministic: the
 * fixture generator relies on byte-identical output.
 */
#include "spool_testlib.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool_payload.h"

const uint8_t tsp_boot_a[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
				0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01};
const uint8_t tsp_boot_b[16] = {0xb0, 0x07, 0xb0, 0x07, 0xb0, 0x07, 0xb0, 0x07,
				0xb0, 0x07, 0xb0, 0x07, 0xb0, 0x07, 0xb0, 0x02};

struct spool *
tsp_open(const char *dir, uint64_t max_bytes, uint64_t seg_bytes, const uint8_t *boot)
{
	struct spool_opts o = {.dir = dir, .name = "test", .max_bytes = max_bytes,
			       .seg_bytes = seg_bytes, .boot_id = boot ? boot : tsp_boot_a,
			       .state_interval_ns = 1};
	struct spool *sp;
	char err[256];
	if (spool_open(&sp, &o, err, sizeof(err)) < 0) {
		fprintf(stderr, "tsp_open: %s\n", err);
		abort();
	}
	return sp;
}

/* 1..12 values; the first is the logical index itself */
void
tsp_payload(struct buf *b, uint64_t i)
{
	struct spool_value v[12];
	size_t n = 1 + (size_t)(i * 7 % 12);
	if (n > 12)
		n = 12;
	v[0].id = 1;
	v[0].kind = SPK_VALUE;
	v[0].v = (double)i;
	for (size_t k = 1; k < n; k++) {
		v[k].id = (uint16_t)(k * 3);
		v[k].kind = (uint8_t)(k % 3);
		v[k].v = (double)i * 0.5 + (double)k / 8.0;
	}
	buf_reset(b);
	spool_payload_encode(b, v, n);
}

void
tsp_meta(struct spool_meta *m, uint64_t i)
{
	m->t_ns = 1700000000000000000LL + (int64_t)i * 100000000LL;
	m->boot_ns = 5000000000LL + (int64_t)i * 100000000LL;
	m->synced = i % 3 != 0;
}

uint64_t
tsp_append(struct spool *sp, uint64_t i)
{
	struct buf b;
	struct spool_meta m;
	uint64_t rid;
	buf_init(&b);
	tsp_payload(&b, i);
	tsp_meta(&m, i);
	if (spool_append(sp, &m, b.p, b.len, &rid) < 0)
		abort();
	buf_free(&b);
	return rid;
}

int64_t
tsp_check(const struct spool_rec *r)
{
	struct spool_value v[16];
	struct spool_meta m;
	struct buf b;
	int n = spool_payload_decode(r->data, r->len, v, 16);
	if (n < 1 || v[0].v < 0)
		return -1;
	uint64_t i = (uint64_t)v[0].v;
	buf_init(&b);
	tsp_payload(&b, i);
	tsp_meta(&m, i);
	bool ok = b.len == r->len && memcmp(b.p, r->data, b.len) == 0 && m.t_ns == r->m.t_ns &&
		  m.boot_ns == r->m.boot_ns && m.synced == r->m.synced;
	buf_free(&b);
	return ok ? (int64_t)i : -1;
}

long
tsp_read_all(struct spool *sp, uint64_t from, int64_t *idx, size_t cap)
{
	struct spool_cursor *c;
	struct spool_rec r;
	long n = 0;
	uint64_t last = 0;
	if (spool_cursor_open(sp, from, UINT64_MAX, &c) < 0)
		return -1;
	while (spool_peek(c, &r) == 1) {
		int64_t i = tsp_check(&r);
		if (i < 0 || (n > 0 && r.rid <= last)) {
			spool_cursor_close(c);
			return -1;
		}
		last = r.rid;
		if ((size_t)n < cap)
			idx[n] = i;
		n++;
		spool_skip(c);
	}
	spool_cursor_close(c);
	return n;
}

int
tsp_copy_dir(const char *from, const char *to)
{
	DIR *d = opendir(from);
	struct dirent *e;
	char src[1024], dst[1024], buf[65536];
	if (d == NULL || mkdir_p(to, 0700) < 0)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(src, sizeof(src), "%s/%s", from, e->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", to, e->d_name);
		int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		ssize_t n;
		while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
			write_all(out, buf, (size_t)n);
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
	}
	closedir(d);
	return 0;
}

static int
seg_names(const char *dir, char *last, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (d == NULL)
		return -1;
	last[0] = '\0';
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l != 20 || strcmp(e->d_name + 16, ".seg") != 0)
			continue;
		n++;
		if (strcmp(e->d_name, last) > 0)
			snprintf(last, len, "%s", e->d_name);
	}
	closedir(d);
	return n;
}

int
tsp_last_segment(const char *dir, char *out, size_t len)
{
	char last[64];
	if (seg_names(dir, last, sizeof(last)) <= 0)
		return -1;
	snprintf(out, len, "%s/%s", dir, last);
	return 0;
}

int
tsp_segment_count(const char *dir)
{
	char last[64];
	return seg_names(dir, last, sizeof(last));
}
