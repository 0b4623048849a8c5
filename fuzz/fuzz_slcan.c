/*
 * libFuzzer target for the slcan receiver: arbitrary bytes from a serial
 * adapter, fed in chunks of varying size as reads would deliver them.
 * Every frame it yields must survive format -> parse unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "slcan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slcan_rx rx;
	struct can_rec out[64], back;
	char line[64];
	size_t pos = 0, chunk = size ? (size_t)data[0] % 256 + 1 : 1;

	slcan_rx_init(&rx);
	while (pos < size) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		size_t k = slcan_feed(&rx, data + pos, n, out, 64, BUS_EV, 0);
		for (size_t i = 0; i < k; i++) {
			int len = slcan_format(line, sizeof(line), &out[i]);
			if (len <= 1 || slcan_parse_line(line, (size_t)len - 1, &back) != 1 ||
			    back.id != out[i].id || back.len != out[i].len || back.flags != out[i].flags ||
			    (!(back.flags & CANF_RTR) && memcmp(back.data, out[i].data, back.len) != 0))
				abort();
		}
		pos += n;
	}
	return 0;
}
