/*
 * Writes the spool's test fixtures (spool/testdata/): a clean spool of the
 * current format version, and spools damaged the ways a crash, a bad disk
 * or a downgrade damage them. Deterministic, so the committed fixtures can
 * be compared with a fresh run. Usage: spool-mkfixtures OUTDIR
 *
 * When the format version changes, keep the old v<N>-clean directory: it is
 * what "opens a spool written by the previous version" is tested against.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "spool.h"
#include "spool_fmt.h"
#include "spool_testlib.h"
#include "util.h"

#define FIXED_CREATED_NS 1700000000000000000LL

static char out[1024];

static void
die(const char *what)
{
	fprintf(stderr, "spool-mkfixtures: %s\n", what);
	exit(1);
}

static void
path_of(char *p, size_t len, const char *fixture, const char *file)
{
	snprintf(p, len, "%s/%s%s%s", out, fixture, file ? "/" : "", file ? file : "");
}

/* Records [from, to), a commit with mark "ck:<last>" every `every`. */
static void
fill(struct spool *sp, uint64_t from, uint64_t to, uint64_t every)
{
	char mark[32];
	for (uint64_t i = from; i < to; i++) {
		tsp_append(sp, i);
		if ((i + 1) % every == 0 || i + 1 == to) {
			int n = snprintf(mark, sizeof(mark), "ck:%llu", (unsigned long long)i);
			if (spool_commit(sp, mark, (size_t)n) < 0)
				die("commit");
		}
	}
}

static struct spool *
fresh(const char *fixture, uint64_t seg_bytes)
{
	char dir[1100];
	path_of(dir, sizeof(dir), fixture, NULL);
	return tsp_open(dir, 64 << 20, seg_bytes, tsp_boot_a);
}

/* Segment headers carry their creation time: pin it. */
static void
pin_headers(const char *fixture)
{
	char dir[1100], p[1400];
	struct dirent *e;
	path_of(dir, sizeof(dir), fixture, NULL);
	DIR *d = opendir(dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		uint8_t b[SPOOL_SEGHDR_LEN];
		struct spool_seghdr h;
		if (strstr(e->d_name, ".seg") == NULL)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		int fd = open(p, O_RDWR);
		if (fd >= 0 && pread(fd, b, sizeof(b), 0) == (ssize_t)sizeof(b) &&
		    spool_fmt_seghdr_decode(b, &h) == 0) {
			h.created_ns = FIXED_CREATED_NS;
			spool_fmt_seghdr_encode(&h, b);
			if (pwrite(fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
				die("pin header");
		}
		if (fd >= 0)
			close(fd);
	}
	if (d != NULL)
		closedir(d);
}

/* File offset of the n-th data record of a segment. */
static long
data_record_offset(const char *seg, unsigned n)
{
	uint8_t buf[1 << 16];
	struct spool_rechdr h;
	int fd = open(seg, O_RDONLY);
	ssize_t len = fd >= 0 ? pread(fd, buf, sizeof(buf), 0) : -1;
	if (fd >= 0)
		close(fd);
	size_t off = SPOOL_SEGHDR_LEN;
	unsigned seen = 0;
	while (len > 0 && off < (size_t)len) {
		long sz = spool_fmt_rec_decode(buf + off, (size_t)len - off, &h);
		if (sz <= 0)
			break;
		if (h.type == SPOOL_REC_DATA && seen++ == n)
			return (long)off;
		off += (size_t)sz;
	}
	die("record not found");
	return -1;
}

static void
patch(const char *file, long at, const void *bytes, size_t n)
{
	int fd = open(file, O_RDWR);
	if (fd < 0 || pwrite(fd, bytes, n, at) != (ssize_t)n)
		die("patch");
	close(fd);
}

static void
write_file(const char *file, const void *bytes, size_t n)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write_all(fd, bytes, n) < 0)
		die("write");
	close(fd);
}

static void
mk_clean(void)
{
	struct spool *sp = fresh("v1-clean", 8 << 10);
	fill(sp, 0, 300, 25);
	spool_ack(sp, 0, 50, true);
	spool_close(sp);
	pin_headers("v1-clean");
}

static void
mk_torn_tail(void)
{
	char seg[1400], dir[1100];
	struct spool *sp = fresh("torn-tail", 0);
	fill(sp, 0, 99, 99);
	tsp_append(sp, 99);
	spool_commit(sp, NULL, 0);
	spool_close(sp);
	path_of(dir, sizeof(dir), "torn-tail", NULL);
	tsp_last_segment(dir, seg, sizeof(seg));
	struct stat st;
	stat(seg, &st);
	if (truncate(seg, st.st_size - 7) < 0)
		die("truncate");
	pin_headers("torn-tail");
}

static void
mk_torn_header(void)
{
	char p[1400];
	struct spool *sp = fresh("torn-header", 8 << 10);
	fill(sp, 0, 200, 20);
	uint64_t next = spool_next_rid(sp);
	spool_close(sp);
	pin_headers("torn-header");
	struct spool_seghdr h = {.version = SPOOL_FMT_VERSION, .first_rid = next,
				 .created_ns = FIXED_CREATED_NS};
	uint8_t b[SPOOL_SEGHDR_LEN];
	memcpy(h.boot_id, tsp_boot_a, 16);
	spool_fmt_seghdr_encode(&h, b);
	char name[64];
	snprintf(name, sizeof(name), "%016llx.seg", (unsigned long long)next);
	path_of(p, sizeof(p), "torn-header", name);
	write_file(p, b, 30); /* the power went while the header was written */
}

static void
mk_corrupt(const char *fixture, bool length)
{
	char seg[1400], dir[1100];
	struct spool *sp = fresh(fixture, 0);
	fill(sp, 0, 100, 100);
	spool_close(sp);
	pin_headers(fixture);
	path_of(dir, sizeof(dir), fixture, NULL);
	tsp_last_segment(dir, seg, sizeof(seg));
	long at = data_record_offset(seg, 50);
	if (length) {
		uint8_t garbage[4] = {0x00, 0xff, 0xff, 0x7f};
		patch(seg, at + 4, garbage, 4);
	} else {
		uint8_t x = 0xee;
		patch(seg, at + SPOOL_RECHDR_LEN + 5, &x, 1);
	}
}

static void
mk_bad_footer(void)
{
	char p[1400];
	struct spool *sp = fresh("bad-footer", 8 << 10);
	fill(sp, 0, 200, 20);
	spool_close(sp);
	pin_headers("bad-footer");
	path_of(p, sizeof(p), "bad-footer", "0000000000000000.seg");
	struct stat st;
	stat(p, &st);
	uint8_t x = 0x99;
	patch(p, st.st_size - 3, &x, 1); /* inside the footer's payload */
}

static void
mk_bad_magic(void)
{
	char p[1400];
	struct spool *sp = fresh("bad-magic", 0);
	fill(sp, 0, 50, 50);
	spool_close(sp);
	pin_headers("bad-magic");
	static const char junk[] = "this file is not a leafmon spool segment, whatever its name says\n";
	path_of(p, sizeof(p), "bad-magic", "0000000000000010.seg");
	write_file(p, junk, sizeof(junk) - 1);
}

static void
mk_future(void)
{
	char p[1400];
	struct spool *sp = fresh("future-version", 0);
	fill(sp, 0, 50, 50);
	spool_close(sp);
	pin_headers("future-version");
	struct spool_seghdr h = {.version = SPOOL_FMT_VERSION, .first_rid = 1000,
				 .created_ns = FIXED_CREATED_NS};
	uint8_t b[SPOOL_SEGHDR_LEN + 16];
	memcpy(h.boot_id, tsp_boot_b, 16);
	spool_fmt_seghdr_encode(&h, b);
	le16_put(b + 8, 99); /* as a future leafmon would write it */
	le32_put(b + 60, (uint32_t)crc32(0, b, 60));
	memset(b + SPOOL_SEGHDR_LEN, 0xa5, 16);
	path_of(p, sizeof(p), "future-version", "00000000000003e8.seg");
	write_file(p, b, sizeof(b));
}

static void
mk_state_corrupt(void)
{
	char p[1400];
	struct spool *sp = fresh("state-corrupt", 0);
	fill(sp, 0, 100, 100);
	spool_ack(sp, 0, 60, true);
	spool_close(sp);
	pin_headers("state-corrupt");
	path_of(p, sizeof(p), "state-corrupt", "state");
	uint8_t x = '7';
	patch(p, 28, &x, 1);
}

int
main(int argc, char **argv)
{
	if (argc != 2)
		die("usage: spool-mkfixtures OUTDIR");
	snprintf(out, sizeof(out), "%s", argv[1]);
	if (mkdir_p(out, 0755) < 0)
		die("mkdir");
	mk_clean();
	mk_torn_tail();
	mk_torn_header();
	mk_corrupt("corrupt-payload", false);
	mk_corrupt("corrupt-length", true);
	mk_bad_footer();
	mk_bad_magic();
	mk_future();
	mk_state_corrupt();
	return 0;
}
