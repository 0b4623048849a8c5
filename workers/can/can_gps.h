/*
 * The optional GPS ([gps] source = gpsd:HOST:PORT): a libgps client on the
 * can worker's loop. The socket is non-blocking and read only when epoll
 * says so; a gpsd that dies or cannot be reached is retried with a backoff
 * (1 s doubling to 30 s), counted, and never holds up the frame path:
 * libgps connects with a blocking connect(), so a non-blocking probe of
 * the address goes first and gps_open() runs only once gpsd has answered.
 * Reports go through gpsfix.h; the updates go to the callback.
 */
#ifndef LEAFMON_CAN_GPS_H
#define LEAFMON_CAN_GPS_H

#include <stdbool.h>
#include <stdint.h>

#include "gpsfix.h"
#include "loop.h"

struct worker;
struct heartbeat;
struct gps_data_t;

typedef void (*can_gps_cb)(const struct sig_update *u, size_t n, void *arg);

struct can_gps {
	struct loop *loop;
	char host[64], port[8];
	struct gps_data_t *gd; /* open while up */
	bool up;
	bool asleep;	/* the bus sleeps: gpsd is asked to keep its reports */
	bool said_down; /* the outage is in the log (once per outage) */
	struct loop_timer *retry;
	int probe_fd; /* the non-blocking connect that goes first, -1: none */
	struct loop_timer *probe_timer;
	int64_t backoff_ns;
	int64_t down_since; /* Unix ns, 0 while up */
	char err[160];
	struct gps_pub pub;
	can_gps_cb cb;
	void *arg;
	uint64_t connects, disconnects, reports, read_errors;
};

int can_gps_start(struct can_gps *g, struct loop *l, const char *host, const char *port,
		  can_gps_cb cb, void *arg);
void can_gps_stop(struct can_gps *g);
/* The bus fell asleep (true) or woke: from the tick, never the frame path. */
void can_gps_sleep(struct can_gps *g, bool asleep);
void can_gps_heartbeat(const struct can_gps *g, struct heartbeat *hb);

#endif
