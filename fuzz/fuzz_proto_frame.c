/*
 * fuzz_proto_frame: a Frame from frames.ipc through the checked unpack,
 * then into the struct can_rec every frame consumer uses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "canframe.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct can_rec r = {0};
	Frame *f = msg_frame_unpack(data, len);

	if (f == NULL)
		return 0;
	if (f->data.len > CAN_MAX_LEN)
		abort(); /* msg_frame_unpack promises at most 64 bytes */
	r.t_ns = f->t_ns;
	r.id = f->id & 0x1FFFFFFF;
	r.flags = (uint8_t)f->flags;
	r.bus = (uint8_t)(f->bus < BUS_COUNT ? f->bus : BUS_EV);
	r.len = (uint8_t)f->data.len;
	if (f->data.len > 0)
		memcpy(r.data, f->data.data, f->data.len);
	(void)can_bus_name(f->bus);
	leafmon__v1__frame__free_unpacked(f, NULL);
	return 0;
}
