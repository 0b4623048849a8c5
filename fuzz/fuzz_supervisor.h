/*
 * A leafmond daemon for the fuzzers, built from the real control.c and
 * spawn.c with fake process operations: requests and parent-channel
 * messages go through the real code, and nothing is ever spawned or killed.
 */
#ifndef LEAFMON_FUZZ_SUPERVISOR_H
#define LEAFMON_FUZZ_SUPERVISOR_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

struct daemon;

/* A fresh daemon: every enabled worker started (fake pids), none ready. */
struct daemon *fuzz_sup_new(void);
void fuzz_sup_free(struct daemon *d);
/* One packet from worker `wid` on its parent channel (spawn.c on_channel). */
void fuzz_sup_channel(struct daemon *d, int wid, const uint8_t *data, size_t len);
/* One request on control.ipc, unpacked and handled as leafmond does. */
void fuzz_sup_request(struct daemon *d, const uint8_t *data, size_t len);
/* The status document, as `leafmon status --json` would get it. */
void fuzz_sup_status(struct daemon *d);

#endif
