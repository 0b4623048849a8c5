/*
 * Sample cutting on frame time (see cutter.h). Per update the cost is one
 * store and one flag test; per sample one pass over the touched ids.
 */
#include "cutter.h"

#include <string.h>

void
cutter_init(struct cutter *c, int interval_ms)
{
	memset(c, 0, sizeof(*c));
	c->interval_ns = (int64_t)(interval_ms > 0 ? interval_ms : 100) * 1000000LL;
	for (unsigned id = 0; id < SIG_ID_MAX; id++)
		c->published[id] = sig_published(sig_by_id(id));
}

void
cutter_reset_published(struct cutter *c)
{
	memset(c->have_pub, 0, sizeof(c->have_pub));
}

static int
close_tick(struct cutter *c, struct sample_out *out)
{
	out->n = 0;
	out->t_ns = c->newest_t;
	for (size_t i = 0; i < c->ndirty; i++) {
		uint16_t id = c->dirty_list[i];
		double v = c->cur[id];
		c->dirty[id] = false;
		if (c->have_pub[id] && c->last_pub[id] == v)
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

static int64_t
tick_end_of(const struct cutter *c, int64_t t)
{
	int64_t q = t / c->interval_ns;

	if (t < 0 && q * c->interval_ns != t)
		q--; /* floor for times before 1970 (relative logs) */
	return (q + 1) * c->interval_ns;
}

int
cutter_frame(struct cutter *c, int64_t t_ns, struct sample_out *out)
{
	int r = 0;

	if (c->open && t_ns >= c->tick_end)
		r = close_tick(c, out);
	if (!c->open) {
		c->open = true;
		c->tick_end = tick_end_of(c, t_ns);
		c->newest_t = t_ns;
	} else if (t_ns > c->newest_t)
		c->newest_t = t_ns;
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
		if (!c->dirty[id]) {
			c->dirty[id] = true;
			c->dirty_list[c->ndirty++] = (uint16_t)id;
		}
	}
}

int
cutter_flush(struct cutter *c, struct sample_out *out)
{
	if (!c->open)
		return 0;
	return close_tick(c, out);
}
