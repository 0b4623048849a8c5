/*
 * fuzz_spool: a spool directory after anything a crash, a full disk or a
 * bad card can leave: segment files and a state file with arbitrary bytes.
 * The spool must open it (truncating, counting and skipping what is bad),
 * read back every record it kept, take a new record and open again.
 *
 * Input: up to 6 files, each [kind 1 byte][rid 8 bytes BE][len 4 bytes BE]
 * [len bytes]; kind 0 is the segment "%016x.seg" of rid, kind 1 the state
 * file (rid ignored). run_fuzz.py --pack-dirs packs spool fixture dirs
 * into this form for seeds.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static char dir[64];

static void
clear_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[600];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
}

static void
remove_dir(void)
{
	clear_dir();
	rmdir(dir);
}

static uint64_t
be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void
write_files(const uint8_t *data, size_t len)
{
	char p[600];

	for (int n = 0; n < 6 && len >= 13; n++) {
		int kind = data[0] & 1;
		uint64_t rid = be(data + 1, 8);
		size_t m = (size_t)be(data + 9, 4);
		data += 13, len -= 13;
		if (m > len)
			m = len;
		if (kind == 0)
			snprintf(p, sizeof(p), "%s/%016" PRIx64 ".seg", dir, rid);
		else
			snprintf(p, sizeof(p), "%s/state", dir);
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || write_all(fd, data, m) < 0)
			abort();
		close(fd);
		data += m, len -= m;
	}
}

static void
read_all(struct spool *sp)
{
	struct spool_cursor *c;
	struct spool_rec r;
	uint64_t last = 0;

	if (spool_cursor_open(sp, spool_oldest_rid(sp), spool_next_rid(sp), &c) < 0)
		return;
	for (int n = 0; n < 100000 && spool_peek(c, &r) > 0; n++) {
		if (n > 0 && r.rid <= last)
			abort(); /* record ids only ever go up */
		last = r.rid;
		if (r.len > SPOOL_REC_MAX)
			abort();
		volatile uint8_t sink = r.len ? r.data[r.len - 1] : 0;
		(void)sink;
		spool_skip(c);
	}
	spool_cursor_close(c);
}

static struct spool *
open_spool(void)
{
	static const uint8_t boot[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct spool_opts o = {.dir = dir, .name = "fuzz", .max_bytes = 4 << 20,
			       .boot_id = boot};
	struct spool *sp;
	char err[256];

	if (spool_open(&sp, &o, err, sizeof(err)) < 0)
		abort(); /* fails only on bad options or no memory */
	return sp;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct spool_meta m = {.t_ns = 1700000000000000000LL, .boot_ns = 1000, .synced = true};
	struct spool_stats st;
	uint64_t rid;

	if (dir[0] == '\0') {
		log_init("fuzz", LOG_CRIT);
		snprintf(dir, sizeof(dir), "/dev/shm/leafmon-fuzz-spool-%d", (int)getpid());
		if (mkdir_p(dir, 0700) < 0)
			abort();
		atexit(remove_dir);
	}
	clear_dir();
	write_files(data, len);
	struct spool *sp = open_spool();
	read_all(sp);
	spool_stats(sp, &st);
	if (spool_append(sp, &m, "x", 1, &rid) == 0)
		spool_commit(sp, NULL, 0);
	spool_close(sp);
	sp = open_spool(); /* what we left must open again */
	read_all(sp);
	spool_close(sp);
	return 0;
}
