/*
 * libFuzzer target for the cell poller (lbcpoll.c): whatever the bus says on
 * 0x1DB, 0x79B and 0x7BB, in any order and timing. Records of 1 control
 * byte (bits 0-1: the id, 0x1DB, 0x79B, 0x7BB or 0x7BB again; bits 2-6: ms
 * to advance, x8; bit 7: the worker says the bus is awake), 1 length byte
 * and up to 8 data bytes. Checked on every step: a completed reply is ours
 * ("61 GG", GG the group asked) and decodes; the poller only ever sends a
 * request or a flow control, never while the LBC is unheard or the worker
 * says asleep, never within the back-off after another tester, and never a
 * request sooner than poll_interval_s after the previous cycle's first.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "lbcpoll.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INTERVAL_NS (10LL * 1000 * 1000 * 1000)

static void
check_tx(const struct lbcpoll *p, const struct can_rec *f, int64_t now, bool awake,
	 int64_t *cycle_t)
{
	static const uint8_t fc[8] = {0x30, 0, 0, 0, 0, 0, 0, 0};
	bool req = f->data[0] == 0x02 && f->data[1] == 0x21;

	if (f->id != LBCPOLL_REQ_ID || f->len != 8 || (!req && memcmp(f->data, fc, 8) != 0))
		abort();
	if (p->foreign_t != 0 && now - p->foreign_t < LBCPOLL_BACKOFF_NS)
		abort(); /* beside another tester */
	if (req && (!awake || !p->heard || now - p->lbc_t >= LBCPOLL_AWAKE_NS))
		abort(); /* to a sleeping bus */
	if (req && f->data[2] == lbcpoll_groups[0]) {
		if (*cycle_t != 0 && now - *cycle_t < INTERVAL_NS)
			abort(); /* the rate limit */
		*cycle_t = now;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t ids[4] = {LBCPOLL_LBC_ID, LBCPOLL_REQ_ID, LBCPOLL_REPLY_ID,
					LBCPOLL_REPLY_ID};
	struct lbcpoll p;
	struct decoder d;
	struct sig_update u[DEC_MAX_UPDATES];
	struct can_rec f, tx[LBCPOLL_TX_MAX];
	int64_t now = 1000000000LL, cycle_t = 0;
	size_t pos = 0;

	lbcpoll_init(&p, BUS_EV, INTERVAL_NS);
	decoder_init(&d, -1);
	while (pos + 2 <= size) {
		uint8_t ctl = data[pos], len = data[pos + 1] % 9;
		bool awake = ctl & 0x80;
		pos += 2;
		memset(&f, 0, sizeof(f));
		f.id = ids[ctl & 3];
		f.bus = BUS_EV;
		f.len = len;
		for (int i = 0; i < len && pos < size; i++)
			f.data[i] = data[pos++];
		now += (int64_t)((ctl >> 2) & 0x1F) * 8 * 1000 * 1000;
		uint8_t asked = lbcpoll_groups[p.group < LBCPOLL_NGROUPS ? p.group : 0];
		if (lbcpoll_rx(&p, &f, now) == 1) {
			if (p.len < 2 || p.len > LBCPOLL_REPLY_MAX || p.buf[0] != 0x61 ||
			    p.buf[1] != asked)
				abort();
			if (decoder_diag_reply(&d, p.buf, p.len, u, DEC_MAX_UPDATES) >
			    DEC_MAX_UPDATES)
				abort();
		}
		lbcpoll_tick(&p, now, awake);
		if (p.ntx > LBCPOLL_TX_MAX || p.len > LBCPOLL_REPLY_MAX || p.state < LBCPOLL_IDLE ||
		    p.state > LBCPOLL_WAIT_CF)
			abort();
		size_t n = lbcpoll_take_tx(&p, tx, now);
		for (size_t i = 0; i < n; i++)
			check_tx(&p, &tx[i], now, awake, &cycle_t);
	}
	return 0;
}
