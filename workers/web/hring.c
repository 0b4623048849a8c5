/*
 * History ring. Each tier is a circular array indexed by bucket number
 * (start / width) modulo its length, so adding a value is O(1) and a slot
 * whose stored start differs from the wanted one is stale and reused.
 */
#include "hring.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FINE_WIDTH_MS 1000
#define FINE_SPAN_S 3600
#define COARSE_BUCKETS 4320

static bool
kept(const struct sig_info *si)
{
	return sig_published(si) && si->group != SG_CELL && si->id < SIG_ID_MAX;
}

static int
tier_init(struct hring_tier *t, int64_t width_ms, size_t nb, int ncol)
{
	t->width_ms = width_ms;
	t->nb = nb;
	t->start = malloc(sizeof(int64_t) * nb);
	t->v = calloc(nb * (size_t)ncol, sizeof(float));
	t->n = calloc(nb * (size_t)ncol, sizeof(uint16_t));
	t->live = calloc(nb, 1);
	if (t->start == NULL || t->v == NULL || t->n == NULL || t->live == NULL)
		return -1;
	for (size_t i = 0; i < nb; i++)
		t->start[i] = INT64_MIN;
	return 0;
}

int
hring_init(struct hring *r, int hours)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < SIG_ID_MAX; i++)
		r->col_of[i] = -1;
	r->first_ms = INT64_MAX;
	r->last_ms = INT64_MIN;
	if (hours <= 0)
		return 0;
	for (size_t i = 0; i < sig_count; i++)
		if (kept(&sig_table[i]))
			r->col_of[sig_table[i].id] = (int16_t)r->ncol++;
	int64_t span_s = (int64_t)hours * 3600;
	int64_t fine_s = span_s < FINE_SPAN_S ? span_s : FINE_SPAN_S;
	int64_t coarse_w = (span_s + COARSE_BUCKETS - 1) / COARSE_BUCKETS;
	if (coarse_w < 10)
		coarse_w = 10;
	if (tier_init(&r->tier[0], FINE_WIDTH_MS, (size_t)fine_s + 1, r->ncol) < 0 ||
	    tier_init(&r->tier[1], coarse_w * 1000, (size_t)(span_s / coarse_w) + 2, r->ncol) < 0) {
		hring_free(r);
		return -1;
	}
	return 0;
}

void
hring_free(struct hring *r)
{
	for (int i = 0; i < HRING_TIERS; i++) {
		free(r->tier[i].start);
		free(r->tier[i].v);
		free(r->tier[i].n);
		free(r->tier[i].live);
	}
	memset(r->tier, 0, sizeof(r->tier));
	r->ncol = 0;
}

size_t
hring_bytes(const struct hring *r)
{
	size_t n = 0;
	for (int i = 0; i < HRING_TIERS; i++)
		n += r->tier[i].nb * (sizeof(int64_t) + 1 + (size_t)r->ncol * (sizeof(float) + 2));
	return n;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* the slot for bucket `start`, claimed if stale; NULL when too old */
static size_t
slot_for(struct hring_tier *t, int64_t start, int ncol, bool *ok)
{
	size_t slot = (size_t)(floor_div(start, t->width_ms) % (int64_t)t->nb);
	*ok = true;
	if (t->start[slot] == start)
		return slot;
	if (t->start[slot] > start) {
		*ok = false; /* the slot already holds a newer bucket */
		return slot;
	}
	t->start[slot] = start;
	t->live[slot] = 0;
	memset(t->n + slot * (size_t)ncol, 0, sizeof(uint16_t) * (size_t)ncol);
	return slot;
}

static void
fold(float *v, uint16_t *n, double x, bool last)
{
	if (last || *n == 0)
		*v = (float)x;
	else
		*v = (float)(((double)*v * *n + x) / (*n + 1));
	if (*n < UINT16_MAX)
		(*n)++;
}

/* every bucket of every tier from a to b (a <= b) live */
static void
mark_live(struct hring *r, int64_t a, int64_t b)
{
	for (int i = 0; i < HRING_TIERS; i++) {
		struct hring_tier *t = &r->tier[i];
		for (int64_t s = floor_div(a, t->width_ms) * t->width_ms; s <= b;
		     s += t->width_ms) {
			bool ok;
			size_t slot = slot_for(t, s, r->ncol, &ok);
			if (ok)
				t->live[slot] = 1;
		}
	}
}

/* Samples flowing (and the bus awake at either end) make the stretch since
 * the previous one live; a lone sample its own bucket. */
static void
note_sample(struct hring *r, int64_t t_ms, unsigned id, double v)
{
	bool was_asleep = r->asleep;
	if (id == SIG_can_bus_asleep)
		r->asleep = v != 0;
	if (was_asleep && r->asleep)
		return;
	bool flowing = r->last_ms != INT64_MIN && t_ms >= r->last_ms &&
		       t_ms - r->last_ms <= HRING_GAP_MS;
	mark_live(r, flowing ? r->last_ms : t_ms, t_ms);
	if (t_ms > r->last_ms)
		r->last_ms = t_ms;
}

void
hring_add(struct hring *r, int64_t t_ms, unsigned id, double v)
{
	if (r->ncol == 0 || !isfinite(v))
		return;
	note_sample(r, t_ms, id, v);
	if (id >= SIG_ID_MAX || r->col_of[id] < 0)
		return;
	int col = r->col_of[id];
	const struct sig_info *si = sig_by_id(id);
	bool last = si->type == ST_BOOL || si->type == ST_ENUM;
	for (int i = 0; i < HRING_TIERS; i++) {
		struct hring_tier *t = &r->tier[i];
		bool ok;
		int64_t start = floor_div(t_ms, t->width_ms) * t->width_ms;
		size_t slot = slot_for(t, start, r->ncol, &ok);
		if (!ok) {
			r->too_old += i == HRING_TIERS - 1;
			continue;
		}
		size_t k = slot * (size_t)r->ncol + (size_t)col;
		fold(&t->v[k], &t->n[k], v, last);
	}
	r->added++;
	if (t_ms > r->newest_ms)
		r->newest_ms = t_ms;
	if (t_ms < r->first_ms)
		r->first_ms = t_ms;
}

/* The finest tier that holds the grid's range: its span reaches back to
 * the start (give or take one step, so "the last hour" is the fine tier's
 * hour), or it holds everything the ring was ever given. */
static const struct hring_tier *
pick(const struct hring *r, const struct hgrid *g)
{
	for (int i = 0; i < HRING_TIERS; i++) {
		const struct hring_tier *t = &r->tier[i];
		int64_t oldest = r->newest_ms - (int64_t)(t->nb - 1) * t->width_ms;
		bool covers = g->r.from_ms + g->r.step_ms >= oldest || r->first_ms >= oldest;
		if (covers && t->width_ms <= g->r.step_ms)
			return t;
	}
	return &r->tier[HRING_TIERS - 1];
}

/* fold one bucket's cells into the grid row, weighted by their counts */
static void
merge(const struct hring *r, const struct hring_tier *t, size_t slot, struct hgrid *g,
      double *w, size_t row)
{
	for (int c = 0; c < g->nsig; c++) {
		int col = r->col_of[g->sig[c]->id];
		if (col < 0)
			continue;
		size_t k = slot * (size_t)r->ncol + (size_t)col;
		if (t->n[k] == 0)
			continue;
		size_t gi = row * (size_t)g->nsig + (size_t)c;
		bool last = g->sig[c]->type == ST_BOOL || g->sig[c]->type == ST_ENUM;
		if (isnan(g->v[gi]) || last) {
			g->v[gi] = t->v[k];
			w[gi] = t->n[k];
		} else {
			g->v[gi] = (g->v[gi] * w[gi] + (double)t->v[k] * t->n[k]) / (w[gi] + t->n[k]);
			w[gi] += t->n[k];
		}
	}
}

/* The signals' newest values before the grid's first row, carried through
 * live buckets only: walk the tier from its oldest bucket up to t0. */
static void
seeds(const struct hring *r, const struct hring_tier *t, struct hgrid *g)
{
	int64_t first =
	    floor_div(r->newest_ms, t->width_ms) * t->width_ms - (int64_t)(t->nb - 1) * t->width_ms;
	for (int64_t s = first; s < g->r.t0_ms; s += t->width_ms) {
		size_t slot = (size_t)(floor_div(s, t->width_ms) % (int64_t)t->nb);
		bool here = t->start[slot] == s;
		for (int c = 0; c < g->nsig; c++) {
			int col = r->col_of[g->sig[c]->id];
			size_t k = slot * (size_t)r->ncol + (size_t)col;
			if (here && col >= 0 && t->n[k] > 0) {
				g->seed[c] = t->v[k];
				g->seed_t[c] = s;
			}
			if (!here || !t->live[slot])
				g->seed[c] = NAN;
		}
	}
}

int
hring_query(const struct hring *r, struct hgrid *g)
{
	if (r->ncol == 0)
		return -1;
	const struct hring_tier *t = pick(r, g);
	double *w = calloc(g->r.nrows * (size_t)g->nsig, sizeof(double));
	if (w == NULL)
		return -1;
	if (r->newest_ms > 0)
		seeds(r, t, g);
	g->live_known = true;
	int used = 0;
	/* oldest to newest, so that last() takes the latest bucket; the first
	 * row is a whole bucket, as InfluxDB's GROUP BY time() makes it */
	int64_t first = floor_div(g->r.t0_ms, t->width_ms) * t->width_ms;
	for (int64_t s = first; s < g->r.to_ms; s += t->width_ms) {
		size_t slot = (size_t)(floor_div(s, t->width_ms) % (int64_t)t->nb);
		if (t->start[slot] != s)
			continue;
		int64_t row = floor_div(s - g->r.t0_ms, g->r.step_ms);
		if (row < 0 || (size_t)row >= g->r.nrows)
			continue;
		merge(r, t, slot, g, w, (size_t)row);
		g->live[row] |= t->live[slot];
		used++;
	}
	free(w);
	return used;
}
