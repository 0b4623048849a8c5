/*
 * fuzz_proto_control_request: requests on control.ipc as leafmond handles
 * them (checked unpack, then control.c's handler: status, start, stop,
 * restart, reload, log level) against a daemon whose workers are fake.
 * The input is a sequence of requests, each preceded by a 2-byte
 * big-endian length, so state changes across requests are explored too.
 */
#include <stdint.h>

#include "fuzz_supervisor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct daemon *d = fuzz_sup_new();

	for (int n = 0; n < 16 && len >= 2; n++) {
		size_t m = (size_t)data[0] << 8 | data[1];
		data += 2, len -= 2;
		if (m > len)
			m = len;
		fuzz_sup_request(d, data, m);
		data += m, len -= m;
	}
	fuzz_sup_status(d);
	fuzz_sup_free(d);
	return 0;
}
