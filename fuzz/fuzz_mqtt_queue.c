/*
 * Fuzz the MQTT worker's event-queue file parser (STATEDIR/mqtt-events, which
 * a crash or a full disk may have left in any state): what it accepts must
 * encode and decode to the same text, and the queue must then take pushes,
 * sends and acks without fault.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt_queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mqtt_queue a, b;
	struct buf x, y;
	char why[128], *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	mq_init(&a, 64);
	mq_init(&b, 64);
	if (mq_decode(&a, text, why, sizeof(why)) == 0) {
		buf_init(&x);
		buf_init(&y);
		mq_encode(&a, &x);
		if (mq_decode(&b, buf_str(&x), why, sizeof(why)) != 0)
			abort();
		mq_encode(&b, &y);
		if (strcmp(buf_str(&x), buf_str(&y)) != 0)
			abort();
		mq_push(&a, "trip", "end", 1, 2, "{}", 3);
		int i = mq_next_unsent(&a);
		if (i >= 0)
			mq_sent(&a, i, 7);
		mq_acked(&a, 7);
		mq_unsend_all(&a);
		buf_free(&x);
		buf_free(&y);
	}
	mq_free(&a);
	mq_free(&b);
	free(text);
	return 0;
}
