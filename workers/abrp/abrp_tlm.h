/*
 * ABRP live data, the pure part: the telemetry record taken from the
 * snapshot's values, the rate rules that say when to send it, and the
 * request (URL with the keys, form body `tlm=<JSON>`). No I/O, no clock:
 * the rules run on frame time (the snapshot's newest capture time), so a
 * replay at any speed gives the same decisions.
 */
#ifndef LEAFMON_ABRP_TLM_H
#define LEAFMON_ABRP_TLM_H

#include <stdbool.h>
#include <stdint.h>

#include "snap.h"
#include "util.h"

/* The fields we may send, in the order they go (config_abrp_fields too). */
enum abrp_field {
	AF_UTC,
	AF_SOC,
	AF_POWER,
	AF_SPEED,
	AF_IS_CHARGING,
	AF_IS_DCFC,
	AF_IS_PARKED,
	AF_LAT,
	AF_LON,
	AF_ELEVATION,
	AF_HEADING,
	AF_CAPACITY,
	AF_SOE,
	AF_SOH,
	AF_EXT_TEMP,
	AF_BATT_TEMP,
	AF_CABIN_TEMP,
	AF_VOLTAGE,
	AF_CURRENT,
	AF_ODOMETER,
	AF_EST_BATTERY_RANGE,
	AF_HVAC_POWER,
	AF_COUNT
};

#define ABRP_FRESH_NS (10LL * 1000 * 1000 * 1000) /* as the cutter's "fresh" */
#define ABRP_FAST_KMH 30.0
#define ABRP_FAST_NS (5LL * 1000 * 1000 * 1000)
#define ABRP_DRIVE_NS (160LL * 1000 * 1000 * 1000)
#define ABRP_PARKED_NS (30LL * 60 * 1000 * 1000 * 1000)
#define ABRP_POWER_STEP_KW 1.0

const char *abrp_field_name(int f);
/* Field mask from [abrp] fields ("" = all) and send_location; utc and soc
 * always. */
uint32_t abrp_field_mask(const char *fields, bool send_location);

/* One signal's slot as read from the snapshot (have = 0 when absent). */
struct abrp_in {
	bool have;
	double value;
	int64_t t_ns;
	uint32_t flags;
};

/* The record: a value per field, have[f] when known and fresh. */
struct abrp_tlm {
	int64_t t_ns; /* frame time: the newest capture time among the inputs */
	bool asleep;  /* can_bus_asleep */
	bool have[AF_COUNT];
	double v[AF_COUNT];
};

/* From the snapshot slots (indexed by signal id, SIG_ID_MAX of them). */
void abrp_tlm_from(struct abrp_tlm *t, const struct abrp_in *in);

enum abrp_reason {
	AR_NONE,
	AR_FIRST,	    /* nothing sent yet */
	AR_SOC,		    /* SOC moved by a whole percent */
	AR_CHARGING,	    /* charging started or stopped */
	AR_PARKED,	    /* parked or unparked */
	AR_POWER,	    /* charge power moved by 1 kW */
	AR_FAST,	    /* 5 s above 30 km/h */
	AR_DRIVING,	    /* 160 s while driving or quick charging */
	AR_PARKED_INTERVAL, /* 30 min parked */
	AR_COUNT
};

const char *abrp_reason_name(int r);

/* What was last sent. */
struct abrp_rate {
	bool sent;
	int64_t t_ns;
	double soc;
	bool charging, parked;
	double charge_kw;
};

/* Why t should go now (AR_NONE: not now). Nothing while the bus sleeps or
 * without a SOC. */
int abrp_due(const struct abrp_rate *r, const struct abrp_tlm *t);
/* t went out for reason why (or was tried: live data is never sent twice).
 * An interval keeps its cadence: the next one is due an interval after
 * this one was due, not after the moment a poll of the snapshot saw it. */
void abrp_sent(struct abrp_rate *r, const struct abrp_tlm *t, int why);

/* The tlm JSON of the fields in mask that t has. */
void abrp_json(struct buf *b, const struct abrp_tlm *t, uint32_t mask);
/* url?api_key=K&token=T, and the form body tlm=<JSON>, both URL-encoded. */
void abrp_url(struct buf *b, const char *url, const char *api_key, const char *token);
void abrp_form(struct buf *b, const char *json);
/* ABRP's answer {"status": "ok"}: true; anything else (an error) false. */
bool abrp_reply_ok(const char *body);

#endif
