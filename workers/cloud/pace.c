/*
 * The pacing token bucket (see pace.h).
 */
#include "pace.h"

#include <math.h>

#include "util.h"

void
pace_init(struct pace *p, int64_t max_bytes, int64_t window_ns, int64_t now)
{
	p->max_bytes = max_bytes;
	p->window_ns = window_ns > 0 ? window_ns : 1;
	p->cap = (double)max_bytes / 10;
	p->rate = ((double)max_bytes - p->cap) / (double)p->window_ns;
	p->tokens = p->cap;
	p->at = now;
	p->passed = p->waits = 0;
}

static void
refill(struct pace *p, int64_t now)
{
	if (now > p->at) {
		p->tokens = fmin(p->cap, p->tokens + p->rate * (double)(now - p->at));
		p->at = now;
	}
}

int64_t
pace_take(struct pace *p, size_t bytes, int64_t now)
{
	refill(p, now);
	double need = fmin((double)bytes, p->cap); /* a large body waits for a full bucket */
	if (p->tokens >= need) {
		p->tokens -= (double)bytes;
		p->passed += bytes;
		return 0;
	}
	p->waits++;
	int64_t wait = (int64_t)ceil((need - p->tokens) / p->rate);
	return wait > 0 ? wait : 1;
}

size_t
pace_burst(const struct pace *p)
{
	return (size_t)p->cap;
}

double
pace_rate(const struct pace *p)
{
	return p->rate * (double)NSEC_PER_SEC;
}
