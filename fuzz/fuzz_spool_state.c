/*
 * Fuzz the spool's state file parser (acks, ledger, clock anchors), then
 * encode what it accepted and parse that again: it must round-trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spool_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_state s, t;
	struct buf b;
	char why[128];
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	ackset_init(&s.acked);
	ackset_init(&t.acked);
	if (spool_state_decode(text, &s, why, sizeof(why)) == 0) {
		buf_init(&b);
		spool_state_encode(&s, &b);
		if (spool_state_decode(buf_str(&b), &t, why, sizeof(why)) != 0 || t.acked.n != s.acked.n)
			abort();
		buf_free(&b);
	}
	ackset_free(&s.acked);
	ackset_free(&t.acked);
	free(text);
	return 0;
}
