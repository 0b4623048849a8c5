/*
 * Tests for batch bookkeeping: request queue, halving, partial rejections,
 * held lines convicted only once another line was stored, records resolved
 * only when all their lines are; and gzip bodies.
 */
#include <stdlib.h>

#include "batch.h"
#include "gz.h"
#include "t.h"

/* records of 1, 2 and 3 lines: l0 | l1 l2 | l3 l4 l5 */
static void
fill(struct batch *b)
{
	size_t ends[3];
	batch_init(b);
	for (int r = 0, line = 0; r < 3; r++) {
		for (int k = 0; k <= r; k++, line++) {
			buf_printf(&b->text, "m f=%di %d", line, line);
			buf_putc(&b->text, '\n');
			ends[k] = b->text.len;
		}
		CHECK(batch_add(b, 100 + (uint64_t)r, 0, ends, r + 1) == 0);
	}
	CHECK(batch_queue_all(b) == 0);
}

static void
test_batch_body_and_all_ok(void)
{
	struct batch b;
	struct buf body;
	size_t n;
	bool del, def;
	fill(&b);
	buf_init(&body);
	CHECK(batch_body(&b, &body, &n) == 0);
	CHECK_INT(n, ==, 6);
	CHECK_STR(buf_str(&body), "m f=0i 0\nm f=1i 1\nm f=2i 2\nm f=3i 3\nm f=4i 4\nm f=5i 5\n");
	CHECK(!batch_rec_resolved(&b, 0, &del, &def));
	batch_req_ok(&b);
	CHECK(batch_done(&b));
	CHECK(batch_rec_resolved(&b, 2, &del, &def) && del);
	buf_free(&body);
	batch_free(&b);
}

static void
test_batch_split_then_partial_reject(void)
{
	struct batch b;
	struct buf body;
	size_t n;
	bool del, def;
	fill(&b);
	buf_init(&body);
	CHECK(batch_req_split(&b) == 0); /* 413: halves 0..2 and 3..5 */
	CHECK(batch_body(&b, &body, &n) == 0);
	CHECK_INT(n, ==, 3);
	CHECK_STR(buf_str(&body), "m f=0i 0\nm f=1i 1\nm f=2i 2\n");
	bool bad[3] = {false, true, false};
	CHECK(batch_req_apply(&b, bad, false) == 0); /* line 1 dead, 0 and 2 go again */
	CHECK(batch_body(&b, &body, &n) == 0);
	CHECK_STR(buf_str(&body), "m f=0i 0\nm f=2i 2\n");
	batch_req_ok(&b);
	CHECK(batch_rec_resolved(&b, 0, &del, &def) && del);
	CHECK(batch_rec_resolved(&b, 1, &del, &def) && del); /* one line stored, one dead */
	CHECK(!batch_rec_resolved(&b, 2, &del, &def));
	CHECK(batch_body(&b, &body, &n) == 0);
	CHECK_STR(buf_str(&body), "m f=3i 3\nm f=4i 4\nm f=5i 5\n");
	bool all[3] = {true, true, true};
	batch_req_apply(&b, all, true);
	CHECK(batch_done(&b));
	CHECK(batch_rec_resolved(&b, 2, &del, &def) && !del); /* acked, not delivered */
	CHECK_INT(batch_count(&b, LINE_DEAD), ==, 4);
	buf_free(&body);
	batch_free(&b);
}

static void
test_batch_held_lines(void)
{
	struct batch b;
	fill(&b);
	while (b.reqs[0].n > 1)
		CHECK(batch_req_split(&b) == 0);
	batch_req_hold(&b); /* line 0 alone refused, nothing stored yet */
	CHECK_INT(batch_convict_held(&b), ==, 0);
	CHECK(!batch_done(&b));
	batch_req_ok(&b); /* line 1 stored: the request format works */
	CHECK_INT(batch_convict_held(&b), ==, 1);
	CHECK_INT(batch_count(&b, LINE_DEAD), ==, 1);
	/* a batch where nothing is ever stored keeps its held lines */
	batch_free(&b);
	fill(&b);
	batch_req_hold(&b);
	CHECK(batch_empty(&b));
	CHECK(batch_requeue_held(&b) == 0);
	CHECK_INT(b.reqs[0].n, ==, 6);
	CHECK_INT(batch_count(&b, LINE_PENDING), ==, 6);
	batch_free(&b);
}

static void
test_gzip_roundtrip(void)
{
	struct buf z, out, in;
	buf_init(&z);
	buf_init(&out);
	buf_init(&in);
	for (int i = 0; i < 2000; i++)
		buf_printf(&in, "battery,vehicle=leaf battery_voltage_v=%d.5 %d\n", 300 + i % 50, i);
	CHECK(gz_compress(&z, in.p, in.len, 6) == 0);
	CHECK(z.len < in.len / 5);
	CHECK((unsigned char)z.p[0] == 0x1f && (unsigned char)z.p[1] == 0x8b);
	CHECK(gz_decompress(&out, z.p, z.len) == 0);
	CHECK_INT(out.len, ==, in.len);
	CHECK(memcmp(out.p, in.p, in.len) == 0);
	CHECK(gz_decompress(&out, z.p, z.len - 5) < 0);
	buf_free(&z);
	buf_free(&out);
	buf_free(&in);
}

/* lines of two destinations: one request each, in the order of their
 * first lines; held lines go back the same way */
static void
test_batch_destinations(void)
{
	struct batch b;
	struct buf body;
	size_t ends[1], n;
	static const int dest[] = {0, 1, 0, 0, 1};
	bool bad[3] = {false, false, false};
	batch_init(&b);
	buf_init(&body);
	for (int r = 0; r < 5; r++) {
		buf_printf(&b.text, "%s f=%d %d\n", dest[r] ? "trip" : "m", r, r);
		ends[0] = b.text.len;
		CHECK(batch_add(&b, 10 + (uint64_t)r, dest[r], ends, 1) == 0);
	}
	CHECK(batch_queue_all(&b) == 0);
	CHECK_INT(b.nreqs, ==, 2);
	CHECK(!batch_req_whole(&b));
	CHECK_INT(batch_req_dest(&b), ==, 0);
	CHECK(batch_body(&b, &body, &n) == 0);
	CHECK_STR(buf_str(&body), "m f=0 0\nm f=2 2\nm f=3 3\n");
	bad[1] = true;
	CHECK(batch_req_apply(&b, bad, true) == 0); /* one dead, the rest stored */
	CHECK_INT(batch_req_dest(&b), ==, 1);
	CHECK(batch_body(&b, &body, &n) == 0);
	CHECK_STR(buf_str(&body), "trip f=1 1\ntrip f=4 4\n");
	batch_req_hold(&b);
	CHECK(batch_empty(&b));
	CHECK(batch_requeue_held(&b) == 0);
	CHECK_INT(b.nreqs, ==, 1);
	CHECK_INT(batch_req_dest(&b), ==, 1);
	batch_req_ok(&b);
	CHECK(batch_done(&b));
	CHECK_INT(batch_count(&b, LINE_DEAD), ==, 1);
	buf_free(&body);
	batch_free(&b);
}

T_MAIN(T(test_batch_destinations), T(test_batch_body_and_all_ok), T(test_batch_split_then_partial_reject),
       T(test_batch_held_lines), T(test_gzip_roundtrip))
