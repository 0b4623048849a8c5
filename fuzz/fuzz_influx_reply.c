/*
 * Fuzz what a server sends back: the error body (JSON or not), the bad-line
 * finder on a fixed batch, and a Retry-After value.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "influx_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const lines[] = {
    "battery,vehicle=leaf battery_voltage_v=401.5,battery_gids=240i 1700000000123",
    "motor,vehicle=leaf motor_rpm=3000i 1700000000123",
    "vehicle,vehicle=my\\ leaf vehicle_gear=\"D\",vehicle_ready=true 1700000000123",
    "battery,vehicle=leaf battery_gids=241i 1700000000223",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[512], *text = malloc(size + 1);
	size_t lens[4];
	bool bad[4];
	struct influx_verdict v;
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	influx_error_text(text, size, msg, sizeof(msg));
	for (int i = 0; i < 4; i++)
		lens[i] = strlen(lines[i]);
	influx_bad_lines(msg, lines, lens, 4, bad, &v);
	influx_bad_lines(text, lines, lens, 4, bad, &v);
	if (v.identified < 0 || v.identified > 4)
		abort();
	int ra = influx_retry_after(text, 1445412480);
	if (ra > RETRY_AFTER_CAP_S)
		abort();
	influx_api_detect(text);
	free(text);
	return 0;
}
