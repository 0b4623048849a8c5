/*
 * The signal catalogue (signals.def) as C: ids, names, types and the helpers
 * that turn a double from shared memory or protobuf into its typed form.
 */
#ifndef LEAFMON_SIGNALS_H
#define LEAFMON_SIGNALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIG_ID_MAX 256 /* ids are < SIG_ID_MAX; they index the snapshot */

enum sig_group {
	SG_BATTERY,
	SG_MOTOR,
	SG_VEHICLE,
	SG_CHARGE,
	SG_CLIMATE,
	SG_CELLS,
	SG_CELL,
	SG_CAN,
	SG_POSITION,
	SG_COUNT
};

enum sig_type { ST_FLOAT, ST_INT, ST_BOOL, ST_ENUM };
enum sig_status { SS_VERIFIED, SS_PROVISIONAL };

enum sig_id {
#define SIG(id, name, unit, group, type, status, labels, desc) SIG_##name = id,
#include "signals.def"
#undef SIG
};

struct sig_info {
	uint16_t id;
	uint8_t group;	/* enum sig_group */
	uint8_t type;	/* enum sig_type */
	uint8_t status; /* enum sig_status */
	const char *name;
	const char *unit;
	const char *desc;
	const char *labels; /* comma-separated, for ST_ENUM */
};

extern const struct sig_info sig_table[];
extern const size_t sig_count;

const struct sig_info *sig_by_id(unsigned id);
const struct sig_info *sig_by_name(const char *name);
const char *sig_group_name(unsigned group);

/* Enum labels: index -> label (NULL when out of range), label -> index (-1). */
const char *sig_enum_label(const struct sig_info *s, double v, char *buf, size_t len);
int sig_enum_index(const struct sig_info *s, const char *label);

/*
 * Value formatting. JSON: numbers, true/false, "label". Line protocol: float,
 * 12i, true/false, "label". Both return the length written or -1 when the
 * buffer is too small or the value is not representable (NaN, inf).
 */
int sig_format_json(const struct sig_info *s, double v, char *buf, size_t len);
int sig_format_lp(const struct sig_info *s, double v, char *buf, size_t len);
/* A float as "%.15g" writes it (lp: ".0" added to a whole number, as
 * sig_format_lp does) without printf, for the values with at most 6
 * decimals; its length (no NUL), or -1: use printf. out: 40 bytes. */
int sig_short_float(double v, char *out, bool lp);
/* v in decimal (no NUL); its length. out: 21 bytes. */
size_t sig_fmt_i64(char *out, int64_t v);

/* Published signals: verified ones. Provisional rows stay internal. */
static inline int
sig_published(const struct sig_info *s)
{
	return s != NULL && s->status == SS_VERIFIED;
}

#endif
