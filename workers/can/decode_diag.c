/*
 * Passive decoding of the LBC's diagnostic replies (0x7BB) to another
 * tester's polls (LeafSpy's 0x79B "21 GG"): ISO-TP reassembly, then groups
 * 0x01 (Hx, Ah), 0x02 (96 cell voltages) and 0x04 (pack thermistors), with
 * the per-generation lengths of LEAF-CAN.md section 8. Nothing is sent
 * here: our own poller (lbcpoll.c) reassembles its replies itself and hands
 * them to decoder_diag_reply(), the same group decoders.
 */
#include "decode_int.h"

#include <math.h>

static uint32_t
be(const uint8_t *p, int n)
{
	uint32_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Group 0x01: the reply length tells the layout (41/43 ZE0/AZE0, 53 ZE1). */
static void
group_01(struct decoder *d, const uint8_t *p, size_t n, struct emit *e)
{
	size_t total = n + 2;

	if (total == 0x29 || total == 0x2B) {
		emit(e, SIG_battery_hx_pct, be(p + 26, 2) / 100.0);
		emit(e, SIG_battery_ah, be(p + 33, 3) / 10000.0);
	} else if (total == 0x35) {
		emit(e, SIG_battery_hx_pct, round(be(p + 28, 2) / 102.4 * 100) / 100);
		emit(e, SIG_battery_ah, be(p + 35, 3) / 10000.0);
	}
}

/* Group 0x02: 96 x uint16 mV; values >= 5000 are not cells. */
static void
group_02(struct decoder *d, const uint8_t *p, size_t n, struct emit *e)
{
	unsigned min = 0xFFFF, max = 0, cnt = 0;
	double sum = 0;

	if (n < 192)
		return;
	for (int i = 0; i < 96; i++) {
		unsigned mv = be(p + 2 * i, 2);
		if (mv >= 5000 || mv == 0)
			continue;
		emit(e, SIG_cell_001_mv + (unsigned)i, mv);
		min = mv < min ? mv : min;
		max = mv > max ? mv : max;
		sum += mv;
		cnt++;
	}
	if (cnt == 0)
		return;
	emit(e, SIG_cells_voltage_min_mv, min);
	emit(e, SIG_cells_voltage_max_mv, max);
	emit(e, SIG_cells_voltage_avg_mv, round(sum / cnt * 10) / 10);
	emit(e, SIG_cells_voltage_delta_mv, max - min);
}

/* Group 0x04: 4 x {uint16 thermistor raw, int8 degC}; FF FF FF = absent. */
static void
group_04(struct decoder *d, const uint8_t *p, size_t n, struct emit *e)
{
	if (n < 12)
		return;
	for (int i = 0; i < 4; i++) {
		const uint8_t *t = p + 3 * i;
		if (t[0] == 0xFF && t[1] == 0xFF && t[2] == 0xFF)
			continue;
		emit(e, SIG_cells_temp_1_c + (unsigned)i, (int8_t)t[2]);
	}
}

/* A complete reply ("61 GG ..."), passively reassembled or polled. */
static void
reply(struct decoder *d, const uint8_t *p, size_t n, struct emit *e)
{
	if (n < 2 || p[0] != 0x61)
		return; /* a negative response or another service */
	if (p[1] == 0x01)
		group_01(d, p + 2, n - 2, e);
	else if (p[1] == 0x02)
		group_02(d, p + 2, n - 2, e);
	else if (p[1] == 0x04)
		group_04(d, p + 2, n - 2, e);
}

static void
reply_done(struct decoder *d, struct emit *e)
{
	size_t n = d->tp_want;

	d->tp_want = 0;
	reply(d, d->tp_buf, n, e);
}

size_t
decoder_diag_reply(struct decoder *d, const uint8_t *p, size_t n, struct sig_update *out,
		   size_t cap)
{
	struct emit e = {out, 0, cap};

	reply(d, p, n, &e);
	return e.n;
}

static void
tp_append(struct decoder *d, const uint8_t *p, size_t n)
{
	if (n > d->tp_want - d->tp_len)
		n = d->tp_want - d->tp_len;
	for (size_t i = 0; i < n; i++)
		d->tp_buf[d->tp_len++] = p[i];
}

void
dec_diag_7bb(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;
	unsigned pci = b[0] >> 4;

	if (d->tp_polled) { /* our poller reads this reply (decoder_diag_reply) */
		d->tp_want = 0;
		return;
	}
	if (pci == 0) { /* single frame */
		size_t n = b[0] & 0x0F;
		if (n == 0 || n + 1 > f->len)
			return;
		d->tp_len = 0;
		d->tp_want = n;
		tp_append(d, b + 1, n);
		reply_done(d, e);
	} else if (pci == 1 && f->len == 8) { /* first frame */
		size_t n = ((size_t)(b[0] & 0x0F) << 8) | b[1];
		d->tp_want = 0;
		if (n < 7 || n > DEC_ISOTP_MAX)
			return;
		d->tp_len = 0;
		d->tp_want = n;
		d->tp_next_sn = 1;
		d->tp_bus = f->bus;
		tp_append(d, b + 2, 6);
	} else if (pci == 2 && d->tp_want != 0 && f->bus == d->tp_bus) {
		if ((b[0] & 0x0F) != d->tp_next_sn) {
			d->tp_want = 0; /* a lost frame: drop the reply */
			return;
		}
		d->tp_next_sn = (d->tp_next_sn + 1) & 0x0F;
		tp_append(d, b + 1, (size_t)f->len - 1);
		if (d->tp_len == d->tp_want)
			reply_done(d, e);
	}
}
