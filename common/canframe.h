/*
 * One received CAN frame as every part of leafmon sees it: sources produce
 * it, the decoder, the recorder and the Frame message consume it.
 */
#ifndef LEAFMON_CANFRAME_H
#define LEAFMON_CANFRAME_H

#include <stdint.h>

/* Which physical bus a frame came from. Ids collide across buses. */
enum can_bus { BUS_EV = 0, BUS_CAR = 1, BUS_QC = 2, BUS_AV = 3, BUS_COUNT };

#define CANF_EXT 0x01 /* 29-bit identifier */
#define CANF_RTR 0x02 /* remote request, no data */
#define CANF_FD 0x04  /* CAN FD frame (len up to 64) */
#define CANF_ERR 0x08 /* error frame (id holds the error class) */
#define CANF_TX 0x10  /* sent by the logging node itself (direction T) */

#define CAN_MAX_LEN 64

struct can_rec {
	int64_t t_ns;	 /* capture time, ns since the Unix epoch */
	uint32_t id;	 /* 11- or 29-bit identifier, no flag bits */
	uint8_t len;	 /* data length in bytes, 0..8 (0..64 with CANF_FD) */
	uint8_t flags;	 /* CANF_* */
	uint8_t bus;	 /* enum can_bus */
	uint8_t pad;
	uint8_t data[CAN_MAX_LEN];
};

static inline const char *
can_bus_name(unsigned bus)
{
	static const char *const names[BUS_COUNT] = {"ev", "car", "qc", "av"};
	return bus < BUS_COUNT ? names[bus] : "?";
}

#endif
