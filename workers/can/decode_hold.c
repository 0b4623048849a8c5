/*
 * The hold of the frames that come before the generation is known (pure,
 * see decode.h). The generation is decided on the frames' own evidence
 * (decoder_observe), so the held frames are decoded with the generation
 * they would have had if the decision had come at the first of them.
 */
#include "decode_int.h"

#include <stdlib.h>

void
dec_hold_init(struct dec_hold *h, const struct decoder *d)
{
	h->q = NULL;
	h->n = 0;
	h->done = d->gen != GEN_UNKNOWN; /* a configured generation: nothing waits */
	h->t_first = 0;
}

void
dec_hold_free(struct dec_hold *h)
{
	free(h->q);
	h->q = NULL;
	h->n = 0;
}

size_t
dec_hold_flush(struct dec_hold *h, const struct can_rec **out)
{
	size_t n = h->n;

	h->done = true;
	h->n = 0;
	*out = h->q;
	return n; /* q stays until the hold is freed: *out is valid */
}

size_t
dec_hold_push(struct dec_hold *h, struct decoder *d, const struct can_rec *f,
	      const struct can_rec **out)
{
	if (h->done) {
		*out = f;
		return 1;
	}
	if (h->q == NULL && (h->q = malloc(DEC_HOLD_MAX * sizeof(*h->q))) == NULL) {
		h->done = true; /* no memory to wait in: decode at once, as before */
		*out = f;
		return 1;
	}
	if (h->n == 0)
		h->t_first = f->t_ns;
	h->q[h->n++] = *f;
	if (decoder_observe(d, f) != GEN_UNKNOWN || f->t_ns - h->t_first >= DEC_HOLD_NS ||
	    f->t_ns < h->t_first || h->n == DEC_HOLD_MAX)
		return dec_hold_flush(h, out);
	return 0;
}
