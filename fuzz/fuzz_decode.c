/*
 * libFuzzer target for the decoder and the sample cutter: the input is a
 * stream of frames (2 bytes id, 1 byte bus/flags, 1 byte length, data,
 * 1 byte time step). With a valid CRC forced on half of them the fuzzer
 * reaches past the integrity checks. Decoded values must be finite and
 * their ids in the catalogue.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cutter.h"
#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cutter cut;
static struct sample_out so;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decoder d;
	struct sig_update u[DEC_MAX_UPDATES];
	struct can_rec f;
	size_t pos = 0;
	int64_t t = 0;

	decoder_init(&d, size > 0 ? (int)(data[0] % 4) - 1 : -1);
	cutter_init(&cut, 100, 1);
	while (pos + 5 <= size) {
		memset(&f, 0, sizeof(f));
		f.id = ((uint32_t)data[pos] << 8 | data[pos + 1]) & 0x7FF;
		f.bus = data[pos + 2] & 3;
		f.flags = (data[pos + 2] >> 4) & 0x0F;
		f.len = data[pos + 3] % 9;
		pos += 4;
		if (pos + f.len + 1 > size)
			break;
		memcpy(f.data, data + pos, f.len);
		pos += f.len;
		if ((data[pos] & 1) && f.len > 1)
			f.data[f.len - 1] = leaf_crc8(f.data, f.len - 1u);
		t += (int64_t)data[pos++] * 1000000;
		f.t_ns = t;
		cutter_frame(&cut, t, &so);
		size_t n = decoder_frame(&d, &f, u, DEC_MAX_UPDATES);
		if (n > DEC_MAX_UPDATES)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!isfinite(u[i].value) || sig_by_id(u[i].id) == NULL)
				abort();
		cutter_add(&cut, u, n);
	}
	cutter_flush(&cut, &so);
	return 0;
}
