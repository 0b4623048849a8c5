/*
 * Internals shared by the decoder's files (decode.c: dispatch, integrity,
 * generation, plausibility, energy; decode_lbc.c: battery controller;
 * decode_vcm.c: inverter, VCM, charger, body, climate, CHAdeMO;
 * decode_diag.c: passive ISO-TP replies of the LBC).
 */
#ifndef LEAFMON_DECODE_INT_H
#define LEAFMON_DECODE_INT_H

#include "decode.h"

/* Generation evidence (LEAF-CAN.md Corrections 1). */
#define DEC_EV_ZE1 0x1u	 /* 0x1ED or 0x1C2 */
#define DEC_EV_AZE0 0x2u /* 0x59E, 0x390, or the 0x5BC full-GIDs mux */

/* How long after the first Leaf frame the generation is decided when no
 * ZE1 marker settles it earlier. AZE0 markers repeat every 100..500 ms. */
#define DEC_GEN_WINDOW_NS (1000LL * 1000 * 1000)

struct emit {
	struct sig_update *out;
	size_t n, cap;
};

static inline void
emit(struct emit *e, unsigned id, double v)
{
	if (e->n < e->cap) {
		e->out[e->n].id = (uint16_t)id;
		e->out[e->n].value = v;
		e->n++;
	}
}

/* Sign-extend the low `bits` bits of v. */
static inline int32_t
sext(uint32_t v, unsigned bits)
{
	uint32_t m = 1u << (bits - 1);
	v &= (1u << bits) - 1;
	return (int32_t)(v ^ m) - (int32_t)m;
}

/* Count a field that carried its invalid marker. */
static inline void
dec_invalid(struct decoder *d)
{
	d->st.invalid++;
}

void dec_evidence(struct decoder *d, unsigned bits);
/* Plausibility: 1 when v may be published now (see decode.c). */
int plaus_accept(struct decoder *d, struct plaus *p, double v, double tol);

/* battery controller (decode_lbc.c) */
void dec_lbc_1db(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_lbc_1dc(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_lbc_1ed(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_lbc_55b(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_lbc_5bc(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_lbc_5c0(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_lbc_59e(struct decoder *d, const struct can_rec *f, struct emit *e);

/* inverter, VCM, charger, body, climate, CHAdeMO (decode_vcm.c) */
void dec_inv_1da(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_inv_55a(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_vcm_1d4(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_vcm_11a(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_vcm_1f2(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_vcm_5a9(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_vcm_5b9(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_obc_380(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_obc_390(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_obc_5bf(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_abs_284(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_abs_292(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_cl_355(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_cl_5c5(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_bcm_60d(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_vcm_421(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_hvac_54b(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_hvac_54c(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_hvac_54f(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_hvac_510(struct decoder *d, const struct can_rec *f, struct emit *e);
void dec_qc_109(struct decoder *d, const struct can_rec *f, struct emit *e);

/* passive ISO-TP (decode_diag.c) */
void dec_diag_7bb(struct decoder *d, const struct can_rec *f, struct emit *e);

#endif
