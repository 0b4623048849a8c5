/*
 * Fuzz the session module's checkpoint parser (a file in RUNDIR/STATEDIR
 * that a crash or a full disk may have left in any state): what it accepts
 * must save and restore to the same text, and the module must then run on
 * it (a few frames, a sleep, the end of the data) without fault.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "signals.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sessions a, b;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sessions_cfg cfg = {300 * NSEC_PER_SEC, 30 * NSEC_PER_SEC, 0.1, 0.88, NULL};
	struct sig_update u[] = {{SIG_vehicle_speed_kmh, 30},
				 {SIG_vehicle_gear, 3},
				 {SIG_battery_energy_out_kwh, 1.5},
				 {SIG_charge_status, 3}};
	struct buf x, y;
	char err[200], *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	sessions_init(&a, &cfg);
	if (sessions_restore(&a, text, err, sizeof(err)) == 0) {
		buf_init(&x);
		buf_init(&y);
		sessions_save(&a, &x);
		sessions_init(&b, &cfg);
		if (sessions_restore(&b, buf_str(&x), err, sizeof(err)) != 0)
			abort();
		sessions_save(&b, &y);
		if (strcmp(buf_str(&x), buf_str(&y)) != 0)
			abort();
		for (int i = 0; i < 4; i++) {
			sessions_frame(&a, a.last_t + i * 10000000LL, u, (size_t)(i + 1));
			for (size_t k = 0; k < a.nev; k++) {
				buf_reset(&x);
				session_json(&a.ev[k].s, &cfg, &x);
			}
			sessions_clear_events(&a);
		}
		sessions_idle(&a, a.last_t);
		sessions_finish(&a);
		buf_free(&x);
		buf_free(&y);
	}
	free(text);
	return 0;
}
