/*
 * Unit tests for the influx worker's pure parts: the checkpoint mark.
 * The worker itself is tested end to end in tests/integration/test_influx.py.
 */
#include "influx_worker.h"
#include "t.h"

static void
test_mark_roundtrip_and_refusal(void)
{
	uint8_t m[IW_MARK_LEN];
	uint64_t g, s;
	iw_mark_encode(m, 0x0123456789abcdefULL, 424242);
	CHECK(iw_mark_decode(m, sizeof(m), &g, &s) == 0);
	CHECK(g == 0x0123456789abcdefULL && s == 424242);
	CHECK(iw_mark_decode(m, sizeof(m) - 1, &g, &s) < 0);
	m[1] = '2';
	CHECK(iw_mark_decode(m, sizeof(m), &g, &s) < 0);
}

T_MAIN(T(test_mark_roundtrip_and_refusal))
