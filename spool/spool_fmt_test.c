/*
 * Tests for the pure parts of the spool: segment and record headers,
 * footers, boot ids, the sample payload, the state file and the send-time
 * timestamp rule (DESIGN.md "Time").
 */
#include <errno.h>
#include <stdlib.h>

#include "spool.h"
#include "spool_fmt.h"
#include "spool_payload.h"
#include "spool_state.h"
#include "t.h"

static void
test_fmt_seghdr_roundtrip_and_checks(void)
{
	uint8_t b[SPOOL_SEGHDR_LEN];
	struct spool_seghdr h = {.version = SPOOL_FMT_VERSION, .first_rid = 0x1234567890ULL,
				 .created_ns = -5}, g;
	for (int i = 0; i < 16; i++)
		h.boot_id[i] = (uint8_t)i;
	spool_fmt_seghdr_encode(&h, b);
	CHECK(memcmp(b, "LEAFSPL\n", 8) == 0);
	CHECK_INT(spool_fmt_seghdr_decode(b, &g), ==, 0);
	CHECK_INT(g.first_rid, ==, h.first_rid);
	CHECK_INT(g.created_ns, ==, -5);
	CHECK(memcmp(g.boot_id, h.boot_id, 16) == 0);
	b[20] ^= 1;
	CHECK_INT(spool_fmt_seghdr_decode(b, &g), ==, -EBADMSG);
	b[20] ^= 1;
	b[8] = 99; /* a newer version: refused by version, before its CRC */
	CHECK_INT(spool_fmt_seghdr_decode(b, &g), ==, -EPROTONOSUPPORT);
	CHECK_INT(g.version, ==, 99);
	b[0] = 'X';
	CHECK_INT(spool_fmt_seghdr_decode(b, &g), ==, -EBADMSG);
}

static void
test_fmt_record_roundtrip_partial_and_corrupt(void)
{
	uint8_t b[SPOOL_RECHDR_LEN + 5];
	struct spool_rechdr h = {.type = SPOOL_REC_DATA, .flags = SPOOL_RECF_SYNCED, .len = 5,
				 .idx = 7, .t_ns = 123456789, .boot_ns = -1}, g;
	memcpy(b + SPOOL_RECHDR_LEN, "hello", 5);
	spool_fmt_rec_encode(&h, b + SPOOL_RECHDR_LEN, b);
	CHECK_INT(spool_fmt_rec_decode(b, sizeof(b), &g), ==, (long)sizeof(b));
	CHECK_INT(g.idx, ==, 7);
	CHECK_INT(g.t_ns, ==, 123456789);
	CHECK_INT(g.boot_ns, ==, -1);
	CHECK_INT(g.flags, ==, SPOOL_RECF_SYNCED);
	for (size_t n = 0; n < sizeof(b); n++) /* every prefix: "need more", never valid */
		CHECK_INT(spool_fmt_rec_decode(b, n, &g), ==, 0);
	for (size_t i = 0; i < sizeof(b); i++) { /* every single-byte flip is caught */
		if (i >= 4 && i < 8)
			continue; /* length: may read as "need more" */
		b[i] ^= 0x40;
		CHECK(spool_fmt_rec_decode(b, sizeof(b), &g) < 0);
		b[i] ^= 0x40;
	}
	le32_put(b + 4, SPOOL_REC_MAX + 1);
	CHECK(spool_fmt_rec_decode(b, sizeof(b), &g) < 0);
}

static void
test_fmt_footer_and_boot_id(void)
{
	uint8_t b[SPOOL_FOOTER_LEN], id[16];
	char s[37];
	struct spool_footer f = {3, 99, -7, 8, 1000}, g;
	spool_fmt_footer_encode(&f, b);
	CHECK(spool_fmt_footer_decode(b, sizeof(b), &g) == 0);
	CHECK(g.count == 3 && g.data_bytes == 99 && g.min_t_ns == -7 && g.max_t_ns == 8 &&
	      g.first_rid == 1000);
	CHECK(spool_fmt_footer_decode(b, sizeof(b) - 1, &g) < 0);
	CHECK(spool_fmt_boot_id_parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", id) == 0);
	spool_fmt_boot_id_format(id, s);
	CHECK_STR(s, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	CHECK(spool_fmt_boot_id_parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f", id) < 0);
	CHECK(spool_fmt_boot_id_parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fz", id) < 0);
}

static void
test_payload_roundtrip_and_malformed(void)
{
	struct spool_value v[3] = {{1, SPK_VALUE, 401.5}, {50, SPK_VALUE, 3}, {3, SPK_MAX, -12.25}};
	struct spool_value g[4];
	struct buf b;
	buf_init(&b);
	CHECK(spool_payload_encode(&b, v, 3) == 0);
	CHECK_INT(b.len, ==, 4 + 30);
	CHECK_INT(spool_payload_decode((uint8_t *)b.p, b.len, g, 4), ==, 3);
	CHECK(g[2].id == 3 && g[2].kind == SPK_MAX && g[2].v == -12.25);
	CHECK(g[1].id == 50 && g[1].v == 3.0);
	CHECK_INT(spool_payload_decode((uint8_t *)b.p, b.len, g, 2), ==, -1); /* no room */
	CHECK_INT(spool_payload_decode((uint8_t *)b.p, b.len - 1, g, 4), ==, -1);
	b.p[0] = 9;
	CHECK_INT(spool_payload_decode((uint8_t *)b.p, b.len, g, 4), ==, -1);
	struct spool_value bad = {5000, SPK_VALUE, 1};
	CHECK(spool_payload_encode(&b, &bad, 1) < 0);
	buf_free(&b);
}

static void
test_state_roundtrip_crc_and_version(void)
{
	struct spool_state s, g;
	struct spool_anchor a = {.offset_ns = 1700000000000000000LL, .boot_ns_at_sync = 42};
	struct buf b;
	char why[128];

	memset(&s, 0, sizeof(s));
	memset(&g, 0, sizeof(g));
	ackset_init(&s.acked);
	ackset_init(&g.acked);
	ackset_add(&s.acked, 0, 100);
	ackset_add(&s.acked, 200, 250);
	memset(a.boot_id, 0xab, 16);
	spool_state_anchor(&s, &a);
	s.ledger.dead_lettered = 3;
	s.ledger.last_error_code = 401;
	snprintf(s.ledger.last_error_text, sizeof(s.ledger.last_error_text), "unauthorized access");
	buf_init(&b);
	spool_state_encode(&s, &b);
	CHECK(spool_state_decode(buf_str(&b), &g, why, sizeof(why)) == 0);
	CHECK_INT(g.acked.n, ==, 2);
	CHECK_INT(g.acked.r[1][0], ==, 200);
	CHECK_INT(g.nanchors, ==, 1);
	CHECK_INT(g.anchors[0].offset_ns, ==, a.offset_ns);
	CHECK_INT(g.ledger.dead_lettered, ==, 3);
	CHECK_INT(g.ledger.last_error_code, ==, 401);
	CHECK_STR(g.ledger.last_error_text, "unauthorized access");
	b.p[30] ^= 1; /* any change breaks the CRC */
	CHECK(spool_state_decode(buf_str(&b), &g, why, sizeof(why)) < 0);
	CHECK_STR(why, "crc mismatch");
	CHECK(spool_state_decode("leafmon-spool-state 2\ncrc 00000000\n", &g, why, sizeof(why)) < 0);
	CHECK(strstr(why, "newer") != NULL);
	CHECK(spool_state_decode("leafmon-spool-state 1\nacked 0", &g, why, sizeof(why)) < 0);
	buf_free(&b);
	ackset_free(&s.acked);
	ackset_free(&g.acked);
}

#define S (NSEC_PER_SEC)

static struct spool_rec
rec_at(const uint8_t *boot, int64_t t, int64_t bt, bool synced)
{
	struct spool_rec r = {.rid = 1, .m = {t, bt, synced}, .boot_id = boot};
	return r;
}

static void
test_time_resolve_rules(void)
{
	uint8_t b1[16], b2[16];
	int64_t t;
	memset(b1, 1, 16);
	memset(b2, 2, 16);
	/* boot 1 synchronised 100 s after boot: realtime = boottime + 1e9 s */
	struct spool_anchor an = {.offset_ns = 1000000000LL * S, .boot_ns_at_sync = 100 * S};
	memcpy(an.boot_id, b1, 16);
	int64_t hold = 300 * S;

	struct spool_rec r = rec_at(b1, 5 * S, 50 * S, true);
	CHECK(spool_time_resolve(&r, &an, 1, b1, 400 * S, hold, &t) == SPOOL_TIME_FINAL);
	CHECK_INT(t, ==, 5 * S);
	r = rec_at(b1, 7 * S, 60 * S, false); /* before the sync, within the hold */
	CHECK(spool_time_resolve(&r, &an, 1, b1, 400 * S, hold, &t) == SPOOL_TIME_REBASED);
	CHECK_INT(t, ==, 60 * S + an.offset_ns);
	r = rec_at(b1, 7 * S, 100 * S - hold, false); /* exactly hold before: not re-based */
	CHECK(spool_time_resolve(&r, &an, 1, b1, 400 * S, hold, &t) == SPOOL_TIME_UNSYNCED);
	CHECK_INT(t, ==, 7 * S);
	/* current boot 2, no anchor yet: held while young, released when old */
	r = rec_at(b2, 9 * S, 10 * S, false);
	CHECK(spool_time_resolve(&r, &an, 1, b2, 10 * S + hold - 1, hold, &t) == SPOOL_TIME_HOLD);
	CHECK(spool_time_resolve(&r, &an, 1, b2, 10 * S + hold, hold, &t) == SPOOL_TIME_UNSYNCED);
	/* released unsynced, then the clock syncs: a resend keeps the same time */
	struct spool_anchor later = {.offset_ns = 5, .boot_ns_at_sync = 10 * S + hold};
	memcpy(later.boot_id, b2, 16);
	CHECK(spool_time_resolve(&r, &later, 1, b2, 10 * S + hold + 1, hold, &t) ==
	      SPOOL_TIME_UNSYNCED);
	CHECK_INT(t, ==, 9 * S);
	/* an earlier boot that never synchronised: flagged, never held */
	r = rec_at(b2, 9 * S, 10 * S, false);
	CHECK(spool_time_resolve(&r, &an, 1, b1, 11 * S, hold, &t) == SPOOL_TIME_UNSYNCED);
	/* hold 0: never held, never re-based, even when stamped in the future */
	r = rec_at(b1, 7 * S, 99 * S, false);
	CHECK(spool_time_resolve(&r, &an, 1, b1, 99 * S, 0, &t) == SPOOL_TIME_UNSYNCED);
	/* even one stamped ahead of the boot clock (an accelerated replay) */
	r = rec_at(b2, 9 * S, 50 * S, false);
	CHECK(spool_time_resolve(&r, NULL, 0, b2, 10 * S, 0, &t) == SPOOL_TIME_UNSYNCED);
	CHECK(spool_time_resolve(&r, NULL, 0, b2, 10 * S, hold, &t) == SPOOL_TIME_HOLD);
	r = rec_at(b2, 7 * S, 500 * S, false);
	CHECK(spool_time_resolve(&r, &an, 1, b2, 99 * S, 0, &t) == SPOOL_TIME_UNSYNCED);
}

T_MAIN(T(test_fmt_seghdr_roundtrip_and_checks), T(test_fmt_record_roundtrip_partial_and_corrupt),
       T(test_fmt_footer_and_boot_id), T(test_payload_roundtrip_and_malformed),
       T(test_state_roundtrip_crc_and_version), T(test_time_resolve_rules))
