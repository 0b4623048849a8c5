/* A sample published by hand (see testpub.h). */
#include "testpub.h"

#include "msg.h"
#include "signals.h"
#include "t.h"

void
testpub_sample(struct journal *j, nng_socket pub, uint64_t seq, bool on_bus)
{
	Sample s = LEAFMON__V1__SAMPLE__INIT;
	uint32_t ids[1] = {SIG_battery_voltage_v};
	double vals[1] = {(double)seq};
	uint8_t buf[256];
	s.generation = journal_generation(j);
	s.seq = seq;
	s.t_ns = (int64_t)seq * 100000000;
	s.n_ids = s.n_values = 1;
	s.ids = ids;
	s.values = vals;
	size_t len = leafmon__v1__sample__pack(&s, buf);
	CHECK_INT(journal_append(j, seq, buf, len), ==, 0);
	if (on_bus)
		bus_publish(pub, TOPIC_SAMPLE, &s.base);
}
