/*
 * Snapshot rendering, shared by the CLI and the web worker.
 */
#include "snapjson.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "canframe.h"
#include "json.h"

static int
one(struct json *j, const struct snap *s, const struct sig_info *si, int *busy)
{
	struct snap_value v;
	char val[96];
	int rc = snap_read(s, si->id, &v);
	if (rc == -EBUSY)
		(*busy)++;
	if (rc != 0 || sig_format_json(si, v.value, val, sizeof(val)) < 0)
		return 0;
	json_obj_open(j, si->name);
	json_raw(j, "v", val);
	json_dbl(j, "t", (double)v.t_ns / 1e9);
	json_bool(j, "stale", (v.flags & SNAP_STALE) != 0);
	json_str(j, "bus", can_bus_name(SNAP_BUS(v.flags)));
	json_obj_close(j);
	return 1;
}

int
snap_to_json(const struct snap *s, const char *const *names, int nnames, struct buf *b, int *busy)
{
	struct json j;
	char gen[24];
	int n = 0;
	*busy = 0;
	json_init(&j, b);
	json_obj_open(&j, NULL);
	json_dbl(&j, "t", (double)now_real_ns() / 1e9);
	snprintf(gen, sizeof(gen), "%016llx", (unsigned long long)snap_generation(s));
	json_str(&j, "generation", gen);
	json_int(&j, "writer_pid", snap_writer_pid(s));
	json_obj_open(&j, "signals");
	if (names == NULL) {
		for (size_t i = 0; i < sig_count; i++)
			if (sig_published(&sig_table[i]))
				n += one(&j, s, &sig_table[i], busy);
	} else {
		for (int i = 0; i < nnames; i++) {
			const struct sig_info *si = sig_by_name(names[i]);
			if (sig_published(si))
				n += one(&j, s, si, busy);
		}
	}
	json_obj_close(&j);
	json_obj_close(&j);
	return n;
}
