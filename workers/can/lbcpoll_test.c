/*
 * The cell poller's state machine (lbcpoll.c) with hand-built LBC frames
 * (LEAF-CAN.md section 8): request, flow control, reassembly, a negative
 * response, no reply, another tester, the bus asleep, the rate limit, a
 * second first frame and an out-of-order frame mid-reply; then against the
 * simulator's LBC (sim_lbc.c), through the decoder, for every generation.
 */
#include <math.h>
#include <string.h>

#include "decode.h"
#include "lbcpoll.h"
#include "sim.h"
#include "t.h"

#define MS (1000LL * 1000)
#define S (1000 * MS)

static struct can_rec tx[64];
static size_t ntx;

static struct can_rec
frame(uint32_t id, const uint8_t *d, int len)
{
	struct can_rec f;

	memset(&f, 0, sizeof(f));
	f.id = id;
	f.len = (uint8_t)len;
	f.bus = BUS_EV;
	memcpy(f.data, d, (size_t)len);
	return f;
}

/* What the poller queued, collected (as the worker sends it). */
static void
collect(struct lbcpoll *p, int64_t t)
{
	ntx += lbcpoll_take_tx(p, tx + ntx, t);
	if (ntx > 48)
		ntx = 48;
}

static int
rx(struct lbcpoll *p, int64_t t, uint32_t id, const uint8_t d[8])
{
	struct can_rec f = frame(id, d, 8);
	int r = lbcpoll_rx(p, &f, t);

	collect(p, t);
	return r;
}

/* The LBC's 0x1DB every 10 ms over [t0, t1), the poller ticked after each. */
static void
awake(struct lbcpoll *p, int64_t t0, int64_t t1, bool bus_awake)
{
	static const uint8_t d[8] = {0};

	for (int64_t t = t0; t < t1; t += 10 * MS) {
		rx(p, t, LBCPOLL_LBC_ID, d);
		lbcpoll_tick(p, t, bus_awake);
		collect(p, t);
	}
}

static bool
is_request(const struct can_rec *f, uint8_t gg)
{
	static const uint8_t want[8] = {0x02, 0x21, 0, 0, 0, 0, 0, 0};

	return f->id == 0x79B && f->len == 8 && memcmp(f->data, want, 2) == 0 && f->data[2] == gg &&
	       memcmp(f->data + 3, want + 3, 5) == 0;
}

static bool
is_fc(const struct can_rec *f)
{
	static const uint8_t want[8] = {0x30, 0x00, 0x00, 0, 0, 0, 0, 0};

	return f->id == 0x79B && f->len == 8 && memcmp(f->data, want, 8) == 0;
}

/* A poller whose first request (group 01) has just gone out at *t. */
static void
started(struct lbcpoll *p, int64_t interval, int64_t *t)
{
	lbcpoll_init(p, BUS_EV, interval);
	ntx = 0;
	awake(p, 0, 2 * S + 10 * MS, true); /* 2 s to settle */
	CHECK_INT(ntx, ==, 1);
	CHECK(is_request(&tx[0], 0x01));
	CHECK_INT(p->state, ==, LBCPOLL_WAIT_FIRST);
	*t = 2 * S;
	ntx = 0;
}

/* Group gg's reply of n bytes ("61 GG" + a counting pattern) framed. */
static size_t
reply_frames(uint8_t gg, size_t n, uint8_t f[][8])
{
	uint8_t msg[256];
	size_t k = 1, at = 6;

	msg[0] = 0x61;
	msg[1] = gg;
	for (size_t i = 2; i < n; i++)
		msg[i] = (uint8_t)(i * 7);
	memset(f, 0xFF, 40 * 8);
	f[0][0] = (uint8_t)(0x10 | (n >> 8));
	f[0][1] = (uint8_t)n;
	memcpy(&f[0][2], msg, 6);
	for (uint8_t sn = 1; at < n; k++, sn = (sn + 1) & 0x0F) {
		size_t c = n - at < 7 ? n - at : 7;
		f[k][0] = (uint8_t)(0x20 | sn);
		memcpy(&f[k][1], msg + at, c);
		at += c;
	}
	return k;
}

static void
test_lbcpoll_request_flow_control_reply(void)
{
	struct lbcpoll p;
	struct decoder d;
	struct sig_update u[DEC_MAX_UPDATES];
	uint8_t f[40][8];
	int64_t t;
	size_t n = reply_frames(0x01, 0x2B, f); /* AZE0: 43 bytes, 7 frames */

	started(&p, 300 * S, &t);
	CHECK_INT(rx(&p, t + 5 * MS, 0x7BB, f[0]), ==, 0);
	CHECK_INT(ntx, ==, 1); /* flow control at once */
	CHECK(is_fc(&tx[0]));
	CHECK_INT(p.state, ==, LBCPOLL_WAIT_CF);
	for (size_t i = 1; i < n; i++)
		CHECK_INT(rx(&p, t + (int64_t)(5 + i) * MS, 0x7BB, f[i]), ==, i + 1 == n);
	CHECK_INT(p.len, ==, 0x2B);
	CHECK_INT(p.buf[0], ==, 0x61);
	CHECK_INT(p.buf[1], ==, 0x01);
	CHECK_INT(p.buf[42], ==, (42 * 7) & 0xFF);
	CHECK_INT(p.st.replies, ==, 1);
	CHECK_INT(p.st.flow_controls, ==, 1);
	/* the reply goes through the passive path's group decoders */
	decoder_init(&d, -1);
	size_t k = decoder_diag_reply(&d, p.buf, p.len, u, DEC_MAX_UPDATES);
	CHECK_INT(k, ==, 2);
	CHECK_INT(u[0].id, ==, SIG_battery_hx_pct);
	CHECK_DBL(u[0].value, ((28 * 7 & 0xFF) * 256 + (29 * 7 & 0xFF)) / 100.0, 1e-9);
	/* the next group after the gap */
	CHECK_INT(p.state, ==, LBCPOLL_GAP);
	ntx = 0;
	awake(&p, t + 20 * MS, t + 60 * MS, true);
	CHECK_INT(ntx, ==, 1);
	CHECK(is_request(&tx[0], 0x02));
}

static void
test_lbcpoll_negative_response(void)
{
	struct lbcpoll p;
	int64_t t;
	static const uint8_t nrc12[8] = {0x03, 0x7F, 0x21, 0x12, 0, 0, 0, 0};
	static const uint8_t nrc78[8] = {0x03, 0x7F, 0x21, 0x78, 0, 0, 0, 0};
	static const uint8_t nrc31[8] = {0x03, 0x7F, 0x21, 0x31, 0, 0, 0, 0};

	started(&p, 300 * S, &t);
	CHECK_INT(rx(&p, t + 5 * MS, 0x7BB, nrc12), ==, 0);
	CHECK_INT(ntx, ==, 0); /* no flow control for a single frame */
	CHECK_INT(p.st.nrc, ==, 1);
	CHECK_INT(p.last_nrc, ==, 0x12);
	CHECK_INT(p.st.unsupported, ==, 1); /* 12: group 01 is not asked again */
	awake(&p, t + 10 * MS, t + 40 * MS, true);
	CHECK_INT(ntx, ==, 1);
	CHECK(is_request(&tx[0], 0x02));
	/* 78, response pending: the wait grows to 5 s, then 31 ends it */
	t += 40 * MS;
	ntx = 0;
	rx(&p, t, 0x7BB, nrc78);
	CHECK_INT(p.st.pending, ==, 1);
	awake(&p, t, t + 4 * S, true);
	CHECK_INT(p.st.timeouts, ==, 0);
	CHECK_INT(ntx, ==, 0);
	rx(&p, t + 4 * S, 0x7BB, nrc31);
	CHECK_INT(p.st.nrc, ==, 2);
	CHECK_INT(p.st.unsupported, ==, 1); /* 31 is not "not supported" */
	awake(&p, t + 4 * S, t + 4 * S + 30 * MS, true);
	CHECK_INT(ntx, ==, 1);
	CHECK(is_request(&tx[0], 0x04));
	/* the next cycle starts at group 02 */
	rx(&p, t + 4 * S + 40 * MS, 0x7BB, nrc31);
	awake(&p, t + 4 * S + 40 * MS, t + 4 * S + 80 * MS, true);
	rx(&p, t + 4 * S + 80 * MS, 0x7BB, nrc31);
	CHECK_INT(p.state, ==, LBCPOLL_IDLE);
	ntx = 0;
	awake(&p, t + 5 * S, 2 * S + 300 * S + 20 * MS, true);
	CHECK_INT(ntx, ==, 1);
	CHECK(is_request(&tx[0], 0x02));
	CHECK_INT(p.st.cycles, ==, 2);
}

static void
test_lbcpoll_no_reply(void)
{
	struct lbcpoll p;
	int64_t t;

	started(&p, 300 * S, &t);
	awake(&p, t + 10 * MS, t + 500 * MS, true);
	CHECK_INT(p.st.timeouts, ==, 0);
	CHECK_INT(ntx, ==, 0);
	awake(&p, t + 500 * MS, t + 510 * MS, true);
	CHECK_INT(p.st.timeouts, ==, 1);
	CHECK_INT(p.state, ==, LBCPOLL_GAP);
	awake(&p, t + 510 * MS, t + 540 * MS, true);
	CHECK_INT(ntx, ==, 1);
	CHECK(is_request(&tx[0], 0x02));
	/* nobody answers at all: four timeouts, one cycle, then quiet */
	awake(&p, t + 540 * MS, t + 200 * S, true);
	CHECK_INT(p.st.timeouts, ==, 4);
	CHECK_INT(p.st.requests, ==, 4);
	CHECK_INT(p.st.cycles, ==, 1);
	CHECK_INT(ntx, ==, 3);
	CHECK_INT(p.state, ==, LBCPOLL_IDLE);
}

static void
test_lbcpoll_foreign_tester_stops_us(void)
{
	struct lbcpoll p;
	int64_t t;
	static const uint8_t leafspy[8] = {0x02, 0x21, 0x02, 0, 0, 0, 0, 0};
	uint8_t f[40][8];

	started(&p, 10 * S, &t);
	/* our own request looped back is not a tester */
	uint8_t ours[8];
	memcpy(ours, tx[0].data, 8);
	rx(&p, t + 1 * MS, 0x79B, ours);
	CHECK_INT(p.st.foreign, ==, 0);
	/* LeafSpy asks mid-exchange: what we had in flight is dropped */
	rx(&p, t + 3 * MS, 0x79B, leafspy);
	CHECK_INT(p.st.foreign, ==, 1);
	CHECK_INT(p.st.backoffs, ==, 1);
	CHECK_INT(p.st.aborted, ==, 1);
	CHECK_INT(p.state, ==, LBCPOLL_IDLE);
	CHECK(!lbcpoll_busy(&p));
	/* its reply is not ours: no flow control from us */
	reply_frames(0x02, 198, f);
	rx(&p, t + 5 * MS, 0x7BB, f[0]);
	CHECK_INT(ntx, ==, 0);
	/* it goes on polling every 500 ms for 30 s: we send nothing */
	for (int64_t s = t + 500 * MS; s < t + 30 * S; s += 500 * MS) {
		awake(&p, s - 500 * MS, s, true);
		rx(&p, s, 0x79B, leafspy);
	}
	CHECK_INT(ntx, ==, 0);
	CHECK_INT(p.st.backoffs, ==, 1); /* one episode */
	CHECK(p.st.foreign >= 50);
	/* quiet for 60 s after its last request, then we go on */
	int64_t last = p.foreign_t;
	awake(&p, t + 30 * S, last + LBCPOLL_BACKOFF_NS, true);
	CHECK_INT(ntx, ==, 0);
	CHECK_INT(lbcpoll_next_ns(&p, last + LBCPOLL_BACKOFF_NS - 10 * MS), ==,
		  last + LBCPOLL_BACKOFF_NS);
	awake(&p, last + LBCPOLL_BACKOFF_NS, last + LBCPOLL_BACKOFF_NS + 20 * MS, true);
	CHECK_INT(ntx, ==, 1);
	CHECK(is_request(&tx[0], 0x01));
}

static void
test_lbcpoll_bus_asleep_never_sends(void)
{
	struct lbcpoll p;
	int64_t t;

	/* nothing heard: nothing sent, whatever the time */
	lbcpoll_init(&p, BUS_EV, 10 * S);
	ntx = 0;
	for (t = 0; t < 3600 * S; t += 100 * MS)
		lbcpoll_tick(&p, t, true);
	collect(&p, t);
	CHECK_INT(ntx, ==, 0);
	CHECK_INT(lbcpoll_next_ns(&p, t), ==, INT64_MAX);
	/* the LBC talks but the worker says the bus sleeps (or cannot send) */
	awake(&p, t, t + 60 * S, false);
	CHECK_INT(ntx, ==, 0);
	/* the LBC falls silent mid-exchange: dropped, and no more requests */
	started(&p, 10 * S, &t);
	for (int64_t s = t; s < t + 120 * S; s += 10 * MS)
		lbcpoll_tick(&p, s, true);
	collect(&p, t + 120 * S);
	CHECK_INT(ntx, ==, 0);
	CHECK_INT(p.st.aborted, ==, 1);
	CHECK_INT(p.st.timeouts, ==, 0);
	CHECK_INT(p.state, ==, LBCPOLL_IDLE);
	/* awake again: a first cycle only after the 2 s of settling */
	awake(&p, t + 200 * S, t + 202 * S, true);
	CHECK_INT(ntx, ==, 0);
	awake(&p, t + 202 * S, t + 202 * S + 10 * MS, true);
	CHECK_INT(ntx, ==, 1);
}

static void
test_lbcpoll_rate_limit(void)
{
	struct lbcpoll p;
	static const uint8_t nrc31[8] = {0x03, 0x7F, 0x21, 0x31, 0, 0, 0, 0};
	int64_t first[8];
	int cycles = 0;

	lbcpoll_init(&p, BUS_EV, 300 * S);
	ntx = 0;
	/* 20 minutes awake; every request answered at once (7F 21 31) */
	for (int64_t t = 0; t < 1200 * S; t += 10 * MS) {
		uint64_t before = p.st.cycles;
		awake(&p, t, t + 10 * MS, true);
		if (p.st.cycles != before && cycles < 8)
			first[cycles++] = t;
		if (ntx > 0) {
			CHECK(is_request(&tx[ntx - 1], tx[ntx - 1].data[2]));
			rx(&p, t + 5 * MS, 0x7BB, nrc31);
			ntx = 0;
		}
	}
	CHECK_INT(cycles, ==, 4); /* at 2 s, 302, 602, 902 */
	CHECK_INT(p.st.requests, ==, 16);
	for (int i = 1; i < cycles; i++)
		CHECK_INT(first[i] - first[i - 1], >=, 300 * S);
	CHECK_INT(first[0], ==, 2 * S);
}

static void
test_lbcpoll_second_first_frame_mid_reply(void)
{
	struct lbcpoll p;
	uint8_t f[40][8], g[40][8];
	int64_t t;
	size_t n = reply_frames(0x02, 198, f);

	started(&p, 300 * S, &t);
	awake(&p, t, t + 530 * MS, true); /* to group 02 via a timeout */
	CHECK_INT(p.st.timeouts, ==, 1);
	CHECK(is_request(&tx[0], 0x02));
	t += 530 * MS;
	ntx = 0;
	rx(&p, t + 1 * MS, 0x7BB, f[0]);
	rx(&p, t + 2 * MS, 0x7BB, f[1]);
	rx(&p, t + 3 * MS, 0x7BB, f[2]);
	/* the LBC starts over: a new first frame of our group */
	rx(&p, t + 4 * MS, 0x7BB, f[0]);
	CHECK_INT(p.st.restarts, ==, 1);
	CHECK_INT(ntx, ==, 2); /* flow control again */
	CHECK(is_fc(&tx[1]));
	int done = 0;
	for (size_t i = 1; i < n; i++)
		done += rx(&p, t + (int64_t)(5 + i) * MS, 0x7BB, f[i]);
	CHECK_INT(done, ==, 1);
	CHECK_INT(p.len, ==, 198);
	CHECK_INT(p.buf[197], ==, (197 * 7) & 0xFF);
	/* group 04: a first frame of another group mid-reply is not ours */
	awake(&p, t + 200 * MS, t + 230 * MS, true);
	reply_frames(0x04, 31, f);
	reply_frames(0x01, 43, g);
	ntx = 0;
	rx(&p, t + 231 * MS, 0x7BB, f[0]);
	rx(&p, t + 232 * MS, 0x7BB, f[1]);
	rx(&p, t + 233 * MS, 0x7BB, g[0]);
	CHECK_INT(p.st.bad_replies, ==, 1);
	CHECK_INT(p.state, ==, LBCPOLL_GAP);
	CHECK_INT(ntx, ==, 1); /* the first FC only */
	CHECK_INT(rx(&p, t + 234 * MS, 0x7BB, f[2]), ==, 0);
}

static void
test_lbcpoll_out_of_order_aborts(void)
{
	struct lbcpoll p;
	uint8_t f[40][8], g[40][8];
	int64_t t;

	reply_frames(0x01, 0x35, f);
	reply_frames(0x02, 198, g);
	started(&p, 300 * S, &t);
	rx(&p, t + 1 * MS, 0x7BB, f[0]);
	rx(&p, t + 2 * MS, 0x7BB, f[1]);
	CHECK_INT(rx(&p, t + 3 * MS, 0x7BB, f[3]), ==, 0); /* 23 after 21 */
	CHECK_INT(p.st.seq_errors, ==, 1);
	CHECK_INT(p.state, ==, LBCPOLL_GAP);
	for (int i = 2; i < 8; i++)
		CHECK_INT(rx(&p, t + (4 + i) * MS, 0x7BB, f[i]), ==, 0);
	CHECK_INT(p.st.replies, ==, 0);
	/* a consecutive frame that stops coming: a timeout after 500 ms */
	awake(&p, t + 20 * MS, t + 40 * MS, true);
	CHECK(is_request(&tx[ntx - 1], 0x02));
	rx(&p, t + 41 * MS, 0x7BB, g[0]);
	rx(&p, t + 42 * MS, 0x7BB, g[1]);
	CHECK_INT(p.state, ==, LBCPOLL_WAIT_CF);
	awake(&p, t + 42 * MS, t + 541 * MS, true);
	CHECK_INT(p.st.timeouts, ==, 0);
	awake(&p, t + 542 * MS, t + 560 * MS, true);
	CHECK_INT(p.st.timeouts, ==, 1);
}

/* A whole cycle against the simulator's LBC, through the decoder. */
static void
against_sim(int gen, int mode)
{
	struct sim m;
	struct lbcpoll p;
	struct decoder d;
	struct can_rec out[SIM_MAX_PER_TICK * 2], sent[4];
	struct sig_update u[DEC_MAX_UPDATES];
	double cells[96] = {0}, avg = NAN, t1 = NAN, hx = NAN, ah = NAN;
	int ncells = 0;
	int64_t t0 = 1700000000LL * S;

	sim_init(&m, gen, BUS_EV, t0);
	m.lbc.mode = mode;
	lbcpoll_init(&p, BUS_EV, 300 * S);
	decoder_init(&d, gen);
	for (int64_t t = t0; t < t0 + 10 * S; t += MS) {
		size_t n = sim_run(&m, t, out, SIM_MAX_PER_TICK * 2);
		for (size_t i = 0; i < n; i++) {
			if (lbcpoll_rx(&p, &out[i], t) != 1)
				continue;
			size_t k = decoder_diag_reply(&d, p.buf, p.len, u, DEC_MAX_UPDATES);
			for (size_t j = 0; j < k; j++) {
				unsigned id = u[j].id;
				if (id >= SIG_cell_001_mv && id <= SIG_cell_096_mv) {
					cells[id - SIG_cell_001_mv] = u[j].value;
					ncells++;
				} else if (id == SIG_cells_voltage_avg_mv)
					avg = u[j].value;
				else if (id == SIG_cells_temp_1_c)
					t1 = u[j].value;
				else if (id == SIG_battery_hx_pct)
					hx = u[j].value;
				else if (id == SIG_battery_ah)
					ah = u[j].value;
			}
		}
		lbcpoll_tick(&p, t, true);
		size_t k = lbcpoll_take_tx(&p, sent, t);
		for (size_t i = 0; i < k; i++)
			sim_lbc_rx(&m, &sent[i], t);
	}
	CHECK_INT(p.st.cycles, ==, 1);
	CHECK_INT(p.st.requests, ==, 4);
	CHECK_INT(m.lbc.requests, ==, 4);
	if (mode == SIM_LBC_SILENT) {
		CHECK_INT(p.st.timeouts, ==, 4);
		CHECK_INT(ncells, ==, 0);
		return;
	}
	if (mode == SIM_LBC_NRC) {
		CHECK_INT(p.st.nrc, ==, 4);
		CHECK_INT(p.st.unsupported, ==, 4);
		CHECK_INT(p.last_nrc, ==, 0x12);
		CHECK_INT(ncells, ==, 0);
		return;
	}
	CHECK_INT(p.st.replies, ==, 4);
	CHECK_INT(p.st.flow_controls, ==, 4); /* every group is multi-frame */
	CHECK_INT(m.lbc.flow_controls, ==, 4);
	CHECK_INT(p.st.timeouts + p.st.nrc + p.st.seq_errors + p.st.bad_replies, ==, 0);
	CHECK_INT(ncells, ==, 96);
	CHECK_DBL(avg, m.s.voltage_v / 96 * 1000, 3);
	for (int i = 0; i < 96; i++)
		CHECK_DBL(cells[i], m.s.voltage_v / 96 * 1000, 6);
	CHECK_DBL(t1, m.s.temp_c, 1.2);
	CHECK_DBL(hx,
		  100 * m.capacity_kwh /
		      (gen == GEN_ZE0	 ? 24
		       : gen == GEN_AZE0 ? 30
					 : 62),
		  0.02);
	CHECK_DBL(ah, m.capacity_kwh * 1000 / 360, 0.001);
}

static void
test_lbcpoll_against_the_simulated_lbc(void)
{
	against_sim(GEN_ZE0, SIM_LBC_ANSWER);
	against_sim(GEN_AZE0, SIM_LBC_ANSWER);
	against_sim(GEN_ZE1, SIM_LBC_ANSWER);
	against_sim(GEN_AZE0, SIM_LBC_NRC);
	against_sim(GEN_AZE0, SIM_LBC_SILENT);
}

/* Frames the simulator emits before until (a tick's worth at a time). */
static size_t
sim_lbc_frames(struct sim *m, int64_t until, struct can_rec *out, size_t cap)
{
	struct can_rec buf[SIM_MAX_PER_TICK * 2];
	size_t k = 0, n;

	while ((n = sim_run(m, until, buf, SIM_MAX_PER_TICK * 2)) > 0)
		for (size_t i = 0; i < n; i++)
			if (buf[i].id == 0x7BB && k < cap)
				out[k++] = buf[i];
	return k;
}

/* The simulated LBC honours the flow control's block size and STmin, as
 * Battery-Emulator's frame-by-frame "30 01 00" asks, and a new request
 * drops a reply in progress. */
static void
test_sim_lbc_flow_control(void)
{
	struct sim m;
	struct can_rec f[40];
	uint8_t want[256], got[256];
	size_t n, len, at = 0;
	int64_t t = 1700000000LL * S;
	struct can_rec req = {.id = 0x79B, .len = 8, .bus = BUS_EV, .data = {0x02, 0x21, 0x02}};
	struct can_rec fc = {.id = 0x79B, .len = 8, .bus = BUS_EV, .data = {0x30, 0x01, 0x00}};

	sim_init(&m, GEN_AZE0, BUS_EV, t);
	sim_run(&m, t + 100 * MS, f, 40); /* awake */
	t += 100 * MS;
	len = sim_lbc_group(&m, 0x02, want, sizeof(want));
	CHECK_INT(len, ==, 198);
	sim_lbc_rx(&m, &req, t);
	n = sim_lbc_frames(&m, t + 50 * MS, f, 40);
	CHECK_INT(n, ==, 1); /* the first frame, then nothing without flow control */
	CHECK_INT(f[0].data[0], ==, 0x10);
	CHECK_INT(f[0].data[1], ==, 198);
	memcpy(got, f[0].data + 2, 6);
	at = 6;
	sim_lbc_rx(&m, &fc, t + 50 * MS); /* block size 1 */
	n = sim_lbc_frames(&m, t + 100 * MS, f, 40);
	CHECK_INT(n, ==, 1);
	CHECK_INT(f[0].data[0], ==, 0x21);
	memcpy(got + at, f[0].data + 1, 7);
	at += 7;
	fc.data[1] = 2;
	fc.data[2] = 5; /* two frames, 5 ms apart */
	sim_lbc_rx(&m, &fc, t + 100 * MS);
	n = sim_lbc_frames(&m, t + 150 * MS, f, 40);
	CHECK_INT(n, ==, 2);
	CHECK_INT(f[1].t_ns - f[0].t_ns, ==, 5 * MS);
	CHECK_INT(f[1].data[0], ==, 0x23);
	for (size_t i = 0; i < n; i++, at += 7)
		memcpy(got + at, f[i].data + 1, 7);
	fc.data[1] = fc.data[2] = 0; /* the rest */
	sim_lbc_rx(&m, &fc, t + 150 * MS);
	n = sim_lbc_frames(&m, t + 250 * MS, f, 40);
	CHECK_INT(n, ==, 25);
	for (size_t i = 0; i < n; i++, at += 7)
		memcpy(got + at, f[i].data + 1, at + 7 <= 198 ? 7 : 198 - at);
	CHECK(at >= 198);
	CHECK(memcmp(got, want, 198) == 0);
	CHECK_INT(m.lbc.flow_controls, ==, 3);
	/* a request mid-reply: the old one is dropped, the new one begins */
	sim_lbc_rx(&m, &req, t + 300 * MS);
	sim_lbc_frames(&m, t + 350 * MS, f, 40);
	req.data[2] = 0x01;
	sim_lbc_rx(&m, &req, t + 350 * MS);
	fc.data[1] = 0;
	sim_lbc_rx(&m, &fc, t + 351 * MS); /* before the first frame is out */
	n = sim_lbc_frames(&m, t + 400 * MS, f, 40);
	CHECK_INT(n, ==, 7); /* FF + six CFs of group 01's 43 bytes, in time order */
	CHECK_INT(f[0].data[3], ==, 0x01);
	for (size_t i = 1; i < n; i++)
		CHECK(f[i].t_ns > f[i - 1].t_ns);
}

T_MAIN(T(test_lbcpoll_request_flow_control_reply), T(test_lbcpoll_negative_response),
       T(test_lbcpoll_no_reply), T(test_lbcpoll_foreign_tester_stops_us),
       T(test_lbcpoll_bus_asleep_never_sends), T(test_lbcpoll_rate_limit),
       T(test_lbcpoll_second_first_frame_mid_reply), T(test_lbcpoll_out_of_order_aborts),
       T(test_lbcpoll_against_the_simulated_lbc), T(test_sim_lbc_flow_control))
