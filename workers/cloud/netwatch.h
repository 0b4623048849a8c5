/*
 * Notice when the network may have come back (Wi-Fi joined, a modem up): a
 * NETLINK_ROUTE socket on the link, address and route groups. The cloud
 * worker probes the remote at once on such an event instead of waiting out
 * its backoff. Reading only; no privileges needed. When the socket cannot
 * be opened the worker relies on its backoff probes alone.
 */
#ifndef LEAFMON_NETWATCH_H
#define LEAFMON_NETWATCH_H

#include <stddef.h>

/* A non-blocking socket subscribed to the events, or -1 (errno). */
int netwatch_open(void);
/* Read everything pending: 1 when something suggests connectivity may be
 * back, 0 when not, -1 on a read error other than EAGAIN. */
int netwatch_read(int fd);
/* The same for one buffer of netlink messages (pure; tested): a new
 * address, a new route, or a link that is up and running. */
int netwatch_parse(const void *buf, size_t len);

#endif
