/*
 * Fuzz the spool's readers of on-disk bytes: a segment header, then records
 * decoded as the scan does (resynchronising after a bad one), each data
 * payload decoded and formatted as line protocol.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "lp.h"
#include "spool_fmt.h"
#include "spool_payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lp_ctx lp;
	static struct buf out;
	struct spool_seghdr sh;
	struct spool_rechdr h;
	struct spool_value v[64];
	struct lp_stats st;
	size_t ends[LP_MAX_LINES_PER_RECORD];

	if (lp.div == 0) {
		lp_init(&lp, "fuzz", PREC_MS);
		buf_init(&out);
	}
	if (size >= SPOOL_SEGHDR_LEN)
		spool_fmt_seghdr_decode(data, &sh);
	size_t off = size >= SPOOL_SEGHDR_LEN ? SPOOL_SEGHDR_LEN : 0;
	while (off < size) {
		long n = spool_fmt_rec_decode(data + off, size - off, &h);
		if (n <= 0) {
			off++; /* resynchronise */
			continue;
		}
		const uint8_t *payload = data + off + SPOOL_RECHDR_LEN;
		if (h.type == SPOOL_REC_DATA && spool_payload_decode(payload, h.len, v, 64) >= 0) {
			buf_reset(&out);
			memset(&st, 0, sizeof(st));
			lp_record(&lp, &out, h.t_ns, h.flags & 1, payload, h.len, ends, &st);
		}
		if (h.type == SPOOL_REC_FOOTER) {
			struct spool_footer f;
			spool_fmt_footer_decode(payload, h.len, &f);
		}
		off += (size_t)n;
	}
	return 0;
}
