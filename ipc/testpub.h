/*
 * For the subscriber tests: the can worker's side of a sample, made by
 * hand. Sample `seq` carries battery voltage seq (so a reader can tell it
 * got the right one), goes into the journal, and onto the bus if on_bus.
 */
#ifndef LEAFMON_TESTPUB_H
#define LEAFMON_TESTPUB_H

#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "journal.h"

void testpub_sample(struct journal *j, nng_socket pub, uint64_t seq, bool on_bus);

#endif
