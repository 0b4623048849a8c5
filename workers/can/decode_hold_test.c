/*
 * The hold of the frames before the generation is known: hand-built frames
 * (our own bytes from LEAF-CAN.md's layouts, CRCs computed here) whose
 * generation-dependent values are decoded once the generation is, in the
 * order they came; the bounds (2 s, a bus without the battery
 * controller); a configured generation holds nothing; and the ZE0
 * log whose first pack temperature (0x5C0 at 0.636 s) must be published.
 */
#include <stdlib.h>

#include "decode.h"
#include "decode_run.h"
#include "t.h"

#define MS 1000000LL

struct got {
	int64_t temp_t; /* the first battery_temp_max_c: its frame's time */
	double temp;
	int64_t gen_t;
	int64_t last_t; /* frames come out in order */
	size_t frames;
	bool backwards;
};

static void
feed(struct decoder *d, struct dec_hold *h, const struct can_rec *f, struct got *g, bool flush)
{
	struct sig_update u[DEC_MAX_UPDATES];
	const struct can_rec *out;
	size_t n = flush ? dec_hold_flush(h, &out) : dec_hold_push(h, d, f, &out);

	for (size_t i = 0; i < n; i++) {
		size_t k = decoder_frame(d, &out[i], u, DEC_MAX_UPDATES);
		g->backwards |= g->frames > 0 && out[i].t_ns < g->last_t;
		g->last_t = out[i].t_ns;
		g->frames++;
		for (size_t j = 0; j < k; j++) {
			if (u[j].id == SIG_battery_temp_max_c && g->temp_t < 0) {
				g->temp_t = out[i].t_ns;
				g->temp = u[j].value;
			}
			if (u[j].id == SIG_vehicle_generation && g->gen_t < 0)
				g->gen_t = out[i].t_ns;
		}
	}
}

static struct can_rec
frame(uint32_t id, int64_t t, unsigned bus)
{
	struct can_rec f = {.t_ns = t, .id = id, .len = 8, .bus = (uint8_t)bus};
	return f;
}

/* 0x5C0 mux 1 (maximum), 1 degC per bit of d2 >> 1, -40 */
static struct can_rec
temp_5c0(int64_t t, int c)
{
	struct can_rec f = frame(0x5C0, t, BUS_EV);
	f.data[0] = 0x40;
	f.data[2] = (uint8_t)((c + 40) << 1);
	return f;
}

/* a 0x1DB (current, voltage) with its counter and CRC */
static struct can_rec
lbc_1db(int64_t t, int i)
{
	struct can_rec f = frame(0x1DB, t, BUS_EV);
	f.data[2] = 0x60;
	f.data[6] = (uint8_t)(i & 3);
	f.data[7] = leaf_crc8(f.data, 7);
	return f;
}

/* A car waking: a 0x5C0 at 50 ms, then 0x1DB every 10 ms for 1.5 s. */
static struct got
waking(int gen, size_t *held_max)
{
	struct decoder d;
	struct dec_hold h;
	struct got g = {.temp_t = -1, .gen_t = -1};
	struct can_rec f = temp_5c0(50 * MS, 14);

	decoder_init(&d, gen);
	dec_hold_init(&h, &d);
	*held_max = 0;
	feed(&d, &h, &f, &g, false);
	for (int i = 0; i < 150; i++) {
		f = lbc_1db((60 + i * 10) * MS, i);
		feed(&d, &h, &f, &g, false);
		if (h.n > *held_max)
			*held_max = h.n;
	}
	feed(&d, &h, NULL, &g, true);
	CHECK_INT(g.frames, ==, 151);
	CHECK(!g.backwards);
	dec_hold_free(&h);
	return g;
}

static void
test_hold_first_second_decoded(void)
{
	size_t held;
	struct got g = waking(-1, &held);

	/* decided 1 s after the first battery-controller frame: ZE0 */
	CHECK_INT(g.temp_t, ==, 50 * MS);
	CHECK_DBL(g.temp, 14, 0);
	CHECK_INT(g.gen_t, ==, 50 * MS); /* published with the first frame held */
	CHECK_INT(held, ==, 100);	 /* 0x5C0 and 99 0x1DB waited */
}

static void
test_hold_nothing_with_a_configured_generation(void)
{
	size_t held;
	struct got g = waking(GEN_ZE0, &held);

	CHECK_INT(held, ==, 0);
	CHECK_INT(g.temp_t, ==, 50 * MS);
}

static void
test_hold_bounded_without_the_battery_controller(void)
{
	struct decoder d;
	struct dec_hold h;
	struct got g = {.temp_t = -1, .gen_t = -1};
	size_t max = 0;

	/* Car-CAN without the LBC relayed: nothing ever decides; frames wait
	 * 2 s of frame time, then pass one by one */
	decoder_init(&d, -1);
	dec_hold_init(&h, &d);
	for (int i = 0; i < 500; i++) {
		struct can_rec f = frame(0x5C5, i * 10 * MS, BUS_CAR);
		feed(&d, &h, &f, &g, false);
		max = h.n > max ? h.n : max;
		if (i == 199)
			CHECK_INT(g.frames, ==, 0);
		if (i == 200)
			CHECK_INT(g.frames, ==, 201);
	}
	CHECK_INT(max, ==, 200);
	CHECK_INT(g.frames, ==, 500);
	CHECK(h.done);
	dec_hold_free(&h);
}

static void
collect_temp(const char *line, struct got *g)
{
	const char *p = strstr(line, "\"battery_temp_max_c\": ");
	if (p == NULL || g->temp_t >= 0)
		return;
	g->temp_t = (int64_t)(atof(line + 6) * 1e9 + 0.5); /* {"t": S.US */
	g->temp = atof(p + 22);
}

/* The log: `leafmon decode` publishes the first temperature. */
static void
test_hold_ze0_waking_log(void)
{
	const char *path = t_data("logs/ze0_2011-2012/ZE0w24kWhstock.log");
	struct decode_opts o;
	struct got g = {.temp_t = -1};
	char *text = NULL, *save = NULL;
	size_t len = 0;
	FILE *mem;

	if (path == NULL)
		return;
	decode_opts_init(&o);
	mem = open_memstream(&text, &len);
	CHECK(decode_file(path, &o, mem, stderr) == 0);
	fclose(mem);
	for (char *l = strtok_r(text, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save))
		collect_temp(l, &g);
	/* 0x5C0 at 0.636 s: the sample of its tick (was 2.194 s, the second one) */
	CHECK(g.temp_t >= 636 * MS && g.temp_t < 700 * MS);
	CHECK_DBL(g.temp, 3, 0);
	free(text);
}

T_MAIN(T(test_hold_first_second_decoded), T(test_hold_nothing_with_a_configured_generation),
       T(test_hold_bounded_without_the_battery_controller), T(test_hold_ze0_waking_log))
