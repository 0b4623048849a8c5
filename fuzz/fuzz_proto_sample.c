/*
 * fuzz_proto_sample: a Sample as it arrives on samples.ipc (topic byte 's'
 * already stripped) through the checked unpack, then what every consumer
 * does with each (id, value): look the signal up and format it as line
 * protocol and JSON.
 */
#include <stdint.h>
#include <stdlib.h>

#include "msg.h"
#include "signals.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char buf[128], lbl[64];
	Sample *s = msg_sample_unpack(data, len);

	if (s == NULL)
		return 0;
	if (s->n_ids != s->n_values)
		abort(); /* msg_sample_unpack promises they pair up */
	for (size_t i = 0; i < s->n_ids; i++) {
		const struct sig_info *si = sig_by_id(s->ids[i]);
		if (si == NULL)
			continue;
		(void)sig_format_lp(si, s->values[i], buf, sizeof(buf));
		(void)sig_format_json(si, s->values[i], buf, sizeof(buf));
		if (si->type == ST_ENUM)
			(void)sig_enum_label(si, s->values[i], lbl, sizeof(lbl));
		(void)sig_published(si);
	}
	leafmon__v1__sample__free_unpacked(s, NULL);
	return 0;
}
