/*
 * fuzz_proto_control_response: what `leafmon status` and the web worker get
 * back from control.ipc, through the checked unpack, then rendered as the
 * status document (status_to_json) and searched the way the CLI does.
 */
#include <stdint.h>
#include <stdlib.h>

#include "msg.h"
#include "status.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char *const names[] = {"can", "influx", "cloud", "web", "abrp", "ledger", ""};
	struct buf b;
	ControlResponse *r = msg_control_response_unpack(data, len);

	if (r == NULL)
		return 0;
	if (r->status != NULL) {
		buf_init(&b);
		status_to_json(r->status, &b);
		(void)buf_str(&b);
		buf_free(&b);
		for (size_t i = 0; i < ARRAY_LEN(names); i++) {
			const WorkerStatus *w = status_worker(r->status, names[i]);
			if (w != NULL)
				(void)status_counter(w, "frames", 0);
		}
	}
	leafmon__v1__control_response__free_unpacked(r, NULL);
	return 0;
}
