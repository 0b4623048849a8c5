/*
 * fuzz_proto_ctl: a packet on a worker's parent channel (fd 3) as leafmond
 * receives it (spawn.c on_channel: size check, unpack, Ready/Heartbeat),
 * then the status document built from the stored heartbeat. Byte 0 picks
 * the worker; the rest is the packet.
 */
#include <stdint.h>

#include "fuzz_supervisor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len < 1)
		return 0;
	struct daemon *d = fuzz_sup_new();
	fuzz_sup_channel(d, data[0], data + 1, len - 1);
	fuzz_sup_status(d);
	fuzz_sup_free(d);
	return 0;
}
