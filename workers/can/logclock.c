/*
 * The bus's own clock for untimed logs (see logclock.h). Integer arithmetic
 * only for the times (Q10 fixed point for the frames per tick), so a log
 * gets the same times on every machine.
 */
#include "logclock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_NS (1000LL * 1000)

/* the 10 ms frames, in order of preference */
static const uint16_t ten_ms[] = {0x1DB, 0x1DC, 0x1DA, 0x1D4, 0x11A};

/* LEAF-CAN.md's period column: ids with the same period on every generation */
static const struct {
	uint16_t id, ms;
} periods[] = {
    {0x1ED, 10},  {0x1C2, 10},	{0x120, 10},  {0x1F2, 10},  {0x176, 10},  {0x180, 10},
    {0x284, 20},  {0x285, 20},	{0x292, 20},  {0x260, 20},  {0x355, 40},  {0x421, 60},
    {0x55B, 100}, {0x55A, 100}, {0x380, 100}, {0x390, 100}, {0x393, 100}, {0x5BF, 100},
    {0x50C, 100}, {0x54A, 100}, {0x54B, 100}, {0x54C, 100}, {0x54F, 100}, {0x510, 100},
    {0x5C5, 100}, {0x60D, 100}, {0x385, 100}, {0x59E, 500}, {0x5B9, 500}, {0x5C0, 500},
};

#define NCAND (sizeof(ten_ms) / sizeof(ten_ms[0]) + sizeof(periods) / sizeof(periods[0]))

struct cand {
	uint32_t id;
	int64_t ms;
	int bus;
	uint64_t count, last, sum, sumsq;
};

void
logclock_init(struct logclock *c, int64_t start_ns)
{
	memset(c, 0, sizeof(*c));
	c->start_ns = start_ns;
	c->last_t = start_ns;
}

void
logclock_free(struct logclock *c)
{
	free(c->q);
	c->q = NULL;
}

int
logclock_push(struct logclock *c, const struct can_rec *f)
{
	if (c->q == NULL && (c->q = malloc(LOGCLOCK_QMAX * sizeof(*c->q))) == NULL)
		return -1;
	if (c->n >= LOGCLOCK_QMAX)
		return -1;
	c->q[(c->head + c->n) % LOGCLOCK_QMAX] = *f;
	c->n++;
	return 0;
}

void
logclock_end(struct logclock *c)
{
	c->ended = true;
}

static const struct can_rec *
at(const struct logclock *c, uint64_t idx)
{
	return &c->q[(c->head + (idx - c->out)) % LOGCLOCK_QMAX];
}

static bool
plain(const struct can_rec *f)
{
	return !(f->flags & (CANF_EXT | CANF_RTR | CANF_ERR | CANF_FD)) && f->bus != BUS_QC;
}

static void
count(struct cand *k, const struct can_rec *f, uint64_t i)
{
	if (k->count > 0 && f->bus != k->bus)
		return; /* the first bus it was seen on */
	if (k->count > 0) {
		uint64_t g = i - k->last;
		k->sum += g;
		k->sumsq += g * g;
	}
	k->bus = f->bus;
	k->last = i;
	k->count++;
}

/* The spread of the gaps (squared coefficient of variation), -1 too few. */
static double
spread(const struct cand *k)
{
	double n, mean;

	if (k->count < 3)
		return -1;
	n = (double)(k->count - 1);
	mean = (double)k->sum / n;
	return ((double)k->sumsq / n - mean * mean) / (mean * mean);
}

/* The best of k[from..to) (ties: the earlier one, or the shorter period). */
static const struct cand *
best(const struct cand *k, size_t from, size_t to)
{
	const struct cand *b = NULL;
	double bs = 0;

	for (size_t i = from; i < to; i++) {
		double s = spread(&k[i]);
		if (s < 0)
			continue;
		if (b == NULL || s < bs || (s == bs && k[i].ms < b->ms)) {
			b = &k[i];
			bs = s;
		}
	}
	return b;
}

static void
choose(struct logclock *c)
{
	struct cand k[NCAND];
	const struct cand *b;
	size_t nt = sizeof(ten_ms) / sizeof(ten_ms[0]);

	memset(k, 0, sizeof(k));
	for (size_t i = 0; i < nt; i++)
		k[i].id = ten_ms[i], k[i].ms = 10;
	for (size_t i = 0; i < NCAND - nt; i++)
		k[nt + i].id = periods[i].id, k[nt + i].ms = periods[i].ms;
	for (uint64_t i = 0; i < c->n; i++) {
		const struct can_rec *f = at(c, c->out + i);
		if (!plain(f))
			continue;
		for (size_t j = 0; j < NCAND; j++)
			if (k[j].id == f->id) {
				count(&k[j], f, i);
				break;
			}
	}
	if ((b = best(k, 0, nt)) != NULL)
		c->how = LC_TICK;
	else if ((b = best(k, nt, NCAND)) != NULL)
		c->how = LC_PERIOD;
	else {
		c->how = LC_PER_FRAME;
		c->step_ns = 10 * MS_NS;
		return;
	}
	c->id = b->id;
	c->bus = (uint8_t)b->bus;
	c->step_ns = b->ms * MS_NS;
	c->gap_q10 = (int64_t)((b->sum << 10) / (b->count - 1));
	if (c->gap_q10 < 1024)
		c->gap_q10 = 1024;
}

static bool
is_tick(const struct logclock *c, const struct can_rec *f)
{
	return f->id == c->id && f->bus == c->bus && plain(f);
}

/* a * b / d without overflow for the sizes here (a: ns, b <= d: frames) */
static int64_t
mul_div(int64_t a, uint64_t b, uint64_t d)
{
	return (a / (int64_t)d) * (int64_t)b + (a % (int64_t)d) * (int64_t)b / (int64_t)d;
}

/* How long `frames` frames take at the usual rate. */
static int64_t
at_rate(const struct logclock *c, uint64_t frames)
{
	uint64_t x = frames << 10, g = (uint64_t)c->gap_q10;

	return (int64_t)(x / g) * c->step_ns + mul_div(c->step_ns, x % g, g);
}

/* When the tick has stopped coming: this many frames without one. */
static uint64_t
lost_after(const struct logclock *c)
{
	return (uint64_t)((c->gap_q10 * 8) >> 10) + 16;
}

/*
 * Periods between two ticks d frames apart: one, unless the tick was gone
 * (see lost_after). Frame counts cannot tell one missing tick from a burst
 * of 100 ms frames (both about double the usual gap), and loggers drop
 * frames of every id alike, so a short absence is not counted.
 */
static int64_t
periods_in(const struct logclock *c, uint64_t d)
{
	if (d <= lost_after(c))
		return 1;
	return (int64_t)(((d << 10) + (uint64_t)c->gap_q10 / 2) / (uint64_t)c->gap_q10);
}

static int64_t
tick_time(struct logclock *c, uint64_t j)
{
	int64_t t;

	if (!c->have_tick)
		t = c->start_ns +
		    at_rate(c, j - c->base_idx); /* the frames before it: usual rate */
	else {
		uint64_t d = j - c->tick_idx;
		int64_t n = periods_in(c, d);
		if (d <= lost_after(c)) /* follow the usual rate slowly */
			c->gap_q10 += ((int64_t)(d << 10) - c->gap_q10) / 16;
		t = c->tick_t + n * c->step_ns;
	}
	c->have_tick = true;
	c->tick_idx = j;
	c->tick_t = t;
	c->next_idx = 0;
	c->ticks++;
	return t;
}

/* The next tick after frame i in the queue, or 0. */
static uint64_t
next_tick(struct logclock *c, uint64_t i)
{
	uint64_t from = c->next_idx > i ? c->next_idx : i + 1;

	for (uint64_t j = from; j < c->out + c->n; j++)
		if (is_tick(c, at(c, j)))
			return c->next_idx = j;
	c->next_idx = c->out + c->n; /* scanned up to here */
	return 0;
}

/* The tick is gone: choose again from the frames from i on, time going on. */
static void
reselect(struct logclock *c, uint64_t i, int64_t t)
{
	c->how = LC_UNDECIDED;
	c->base_idx = i;
	c->start_ns = t;
	c->have_tick = false;
	c->next_idx = 0;
	c->epochs++;
}

/* A frame between ticks: 0 with *t, -1 to wait for the next tick (or a new one). */
static int
between(struct logclock *c, uint64_t i, int64_t *t)
{
	uint64_t k = c->have_tick ? c->tick_idx : c->base_idx, j = next_tick(c, i);
	int64_t tk = c->have_tick ? c->tick_t : c->start_ns;

	if (j != 0 && c->have_tick) {
		*t = tk + mul_div(periods_in(c, j - k) * c->step_ns, i - k, j - k);
		return 0;
	}
	if (j != 0 || (c->ended && !c->have_tick)) {
		*t = tk + at_rate(c, i - k); /* before the first tick */
		return 0;
	}
	uint64_t newest = c->out + c->n - 1;
	if (c->have_tick && (c->ended || newest - k > lost_after(c) || c->n >= LOGCLOCK_QMAX)) {
		*t = tk + at_rate(c, i - k); /* after the last tick at the usual rate */
		if (!c->ended)
			reselect(c, i, *t);
		return c->ended ? 0 : -1;
	}
	return -1;
}

static int
frame_time(struct logclock *c, uint64_t i, int64_t *t)
{
	if (c->how == LC_UNDECIDED) {
		if (c->n < LOGCLOCK_WINDOW && !c->ended)
			return -1;
		choose(c);
	}
	if (c->how == LC_PER_FRAME) {
		*t = c->start_ns + (int64_t)(i - c->base_idx) * c->step_ns;
		return 0;
	}
	if (is_tick(c, &c->q[c->head])) {
		*t = tick_time(c, i);
		return 0;
	}
	return between(c, i, t);
}

int
logclock_pop(struct logclock *c, struct can_rec *f)
{
	int64_t t;
	int r;

	if (c->n == 0)
		return 0;
	r = frame_time(c, c->out, &t);
	if (r < 0 && c->how == LC_UNDECIDED)
		r = frame_time(c, c->out, &t); /* the tick went away: choose again */
	if (r < 0)
		return 0;
	if (t < c->last_t)
		t = c->last_t;
	c->last_t = t;
	*f = c->q[c->head];
	f->t_ns = t;
	c->head = (c->head + 1) % LOGCLOCK_QMAX;
	c->n--;
	c->out++;
	return 1;
}

void
logclock_describe(const struct logclock *c, char *buf, size_t len)
{
	switch (c->how) {
	case LC_TICK:
	case LC_PERIOD:
		snprintf(buf, len, "0x%03X every %lld ms%s, %llu ticks", (unsigned)c->id,
			 (long long)(c->step_ns / MS_NS),
			 c->how == LC_PERIOD ? " (no 10 ms frame)" : "",
			 (unsigned long long)c->ticks);
		break;
	case LC_PER_FRAME:
		snprintf(buf, len, "10 ms per frame (no id with a known period)");
		break;
	default:
		snprintf(buf, len, "not decided");
	}
	if (c->epochs > 0) {
		size_t n = strlen(buf);
		snprintf(buf + n, len - n, "; chosen again %llu times when the tick went away",
			 (unsigned long long)c->epochs);
	}
}
