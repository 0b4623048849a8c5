/*
 * Sample cutting on frame time (see cutter.h). Per update the cost is one
 * store and one flag test; per sample one pass over the touched ids, and
 * per keyframe one pass over the catalogue.
 */
#include "cutter.h"

#include <string.h>

void
cutter_init(struct cutter *c, int interval_ms, int keyframe_s)
{
	memset(c, 0, sizeof(*c));
	c->interval_ns = (int64_t)(interval_ms > 0 ? interval_ms : 100) * 1000000LL;
	c->keyframe_ns = (int64_t)(keyframe_s > 0 ? keyframe_s : 0) * 1000000000LL;
	c->next_key = INT64_MIN; /* not yet: the first sample holds everything anyway */
	for (unsigned id = 0; id < SIG_ID_MAX; id++)
		c->published[id] = sig_published(sig_by_id(id));
}

void
cutter_keyframes_from(struct cutter *c, int64_t origin)
{
	c->key_origin = origin;
}

void
cutter_reset_published(struct cutter *c)
{
	memset(c->have_pub, 0, sizeof(c->have_pub));
}

/* floor(t / step) * step, also for times before 1970 (relative logs) */
static int64_t
floor_to(int64_t t, int64_t step)
{
	int64_t q = t / step;

	if (t < 0 && q * step != t)
		q--;
	return q * step;
}

static void
mark_dirty(struct cutter *c, unsigned id)
{
	if (!c->dirty[id]) {
		c->dirty[id] = true;
		c->dirty_list[c->ndirty++] = (uint16_t)id;
	}
}

/* Is the closing tick a keyframe? Then every fresh value joins it. */
static bool
keyframe_due(struct cutter *c)
{
	int64_t start = c->tick_end - c->interval_ns;
	bool first = c->next_key == INT64_MIN;

	if (c->keyframe_ns == 0 || start < c->next_key)
		return false;
	c->next_key =
	    c->key_origin + floor_to(start - c->key_origin, c->keyframe_ns) + c->keyframe_ns;
	if (first)
		return false;
	for (unsigned id = 0; id < SIG_ID_MAX; id++)
		if (c->have_val[id] && c->newest_t - c->seen_t[id] <= CUTTER_FRESH_NS)
			mark_dirty(c, id);
	return true;
}

static int
close_tick(struct cutter *c, struct sample_out *out)
{
	bool key = keyframe_due(c);

	out->n = 0;
	out->t_ns = c->newest_t;
	out->keyframe = key;
	for (size_t i = 0; i < c->ndirty; i++) {
		uint16_t id = c->dirty_list[i];
		double v = c->cur[id];
		c->dirty[id] = false;
		if (!key && c->have_pub[id] && c->last_pub[id] == v)
			continue;
		c->have_pub[id] = true;
		c->last_pub[id] = v;
		out->ids[out->n] = id;
		out->values[out->n] = v;
		out->n++;
	}
	c->ndirty = 0;
	c->open = false;
	return out->n > 0;
}

int
cutter_frame(struct cutter *c, int64_t t_ns, struct sample_out *out)
{
	int r = 0;

	if (c->open && t_ns >= c->tick_end)
		r = close_tick(c, out);
	if (!c->open) {
		c->open = true;
		c->tick_end = floor_to(t_ns, c->interval_ns) + c->interval_ns;
		c->newest_t = t_ns;
	} else if (t_ns > c->newest_t)
		c->newest_t = t_ns;
	c->frame_t = t_ns;
	return r;
}

void
cutter_add(struct cutter *c, const struct sig_update *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned id = u[i].id;
		if (id >= SIG_ID_MAX || !c->published[id])
			continue;
		c->cur[id] = u[i].value;
		c->have_val[id] = true;
		c->seen_t[id] = c->frame_t;
		mark_dirty(c, id);
	}
}

int
cutter_flush(struct cutter *c, struct sample_out *out)
{
	if (!c->open)
		return 0;
	return close_tick(c, out);
}
