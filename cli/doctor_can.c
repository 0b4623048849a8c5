/*
 * leafmon doctor: the CAN checks. What the kernel says about each socketcan
 * interface (present, up, bitrate and listen-only through `ip -details`),
 * the other sources' devices and files, and what the decoder says through
 * the snapshot: frames arriving, Leaf ids known, CRC failure rate, the
 * detected generation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "decode.h"
#include "signals.h"
#include "snap.h"
#include "util.h"

static void
check_iface(struct doctor *d, const char *ifc, bool polls)
{
	char path[300], *state, cmd[300], out[4096] = "";
	FILE *p;
	size_t n = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s", ifc);
	if (access(path, F_OK) < 0) {
		doctor_report(d, DOC_FAIL, "can.interface", "check the CAN HAT overlay in config.txt and `ip link`",
			      "interface %s does not exist", ifc);
		return;
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/operstate", ifc);
	state = file_read_str(path, 64, NULL);
	if (state != NULL)
		state[strcspn(state, "\n")] = '\0';
	if (state == NULL || (strcmp(state, "up") != 0 && strcmp(state, "unknown") != 0))
		doctor_report(d, DOC_FAIL, "can.interface",
			      "ip link set IFACE up type can bitrate 500000 listen-only on",
			      "%s is %s", ifc, state ? state : "in an unknown state");
	else
		doctor_report(d, DOC_OK, "can.interface", NULL, "%s is %s", ifc, state);
	free(state);
	snprintf(cmd, sizeof(cmd), "ip -details link show dev %s 2>/dev/null", ifc);
	if ((p = popen(cmd, "r")) != NULL) {
		n = fread(out, 1, sizeof(out) - 1, p);
		pclose(p);
	}
	out[n] = '\0';
	char *br = strstr(out, "bitrate ");
	if (br == NULL)
		doctor_report(d, DOC_SKIP, "can.bitrate", NULL, "%s: no bitrate reported", ifc);
	else if (atol(br + 8) != 500000)
		doctor_report(d, DOC_FAIL, "can.bitrate", "every Leaf bus runs at 500000",
			      "%s runs at %ld bit/s", ifc, atol(br + 8));
	else
		doctor_report(d, DOC_OK, "can.bitrate", NULL, "%s at 500 kbit/s%s", ifc,
			      strstr(out, "LISTEN-ONLY") ? ", listen-only" : "");
	/* a listen-only controller sends nothing: the cell poller's requests never go out */
	if (polls && strstr(out, "LISTEN-ONLY") != NULL)
		doctor_report(d, DOC_FAIL, "can.poll",
			      "ip link set IFACE type can bitrate 500000 listen-only off (or "
			      "[can] poll_cells = false)",
			      "%s is listen-only but [can] poll_cells = true needs to transmit",
			      ifc);
}

/* The can worker asks for a 4 MiB socket buffer (a full bus for about a
 * second of a stalled loop); without CAP_NET_ADMIN the kernel caps it at
 * net.core.rmem_max, which the installed sysctl.d file raises. */
static void
check_rmem(struct doctor *d)
{
	char buf[32] = "";
	FILE *fp = fopen("/proc/sys/net/core/rmem_max", "re");
	if (fp == NULL || fgets(buf, sizeof(buf), fp) == NULL) {
		if (fp != NULL)
			fclose(fp);
		doctor_report(d, DOC_SKIP, "can.rx_buffer", NULL, "net.core.rmem_max unreadable");
		return;
	}
	fclose(fp);
	long v = atol(buf);
	if (v < (4L << 20))
		doctor_report(d, DOC_WARN, "can.rx_buffer",
			      "sysctl -w net.core.rmem_max=4194304 (made permanent by the installed "
			      "sysctl.d/60-leafmon.conf; systemctl restart systemd-sysctl)",
			      "net.core.rmem_max is %ld: a busy bus can overflow the socket while the "
			      "worker is briefly stalled (counted as can_rx_overflows)",
			      v);
	else
		doctor_report(d, DOC_OK, "can.rx_buffer", NULL, "net.core.rmem_max %ld", v);
}

static void
check_sources(struct doctor *d, const struct config *cfg)
{
	struct stat st;
	bool socketcan = false;

	for (int i = 0; i < cfg->can.nsrc; i++) {
		const struct src_spec *s = &cfg->can.src[i];
		if (s->kind == SRC_SOCKETCAN && !socketcan) {
			socketcan = true;
			check_rmem(d);
		}
		if (s->kind == SRC_SOCKETCAN)
			check_iface(d, s->path, cfg->can.poll_cells && s->bus == BUS_EV);
		else if (s->kind == SRC_SLCAN || s->kind == SRC_REPLAY) {
			if (stat(s->path, &st) < 0)
				doctor_report(d, DOC_FAIL, "can.source", "plug the adapter in, or fix [can] source",
					      "%s %s does not exist", srcspec_kind_name(s->kind), s->path);
			else if (access(s->path, R_OK) < 0)
				doctor_report(d, DOC_FAIL, "can.source", "add the leafmon user to group dialout",
					      "%s is not readable", s->path);
			else
				doctor_report(d, DOC_OK, "can.source", NULL, "%s %s present",
					      srcspec_kind_name(s->kind), s->path);
		} else
			doctor_report(d, DOC_OK, "can.source", NULL, "simulator (no car needed)");
	}
}

static double
snapv(struct snap *s, unsigned id, bool *ok, int64_t *t)
{
	struct snap_value v;

	*ok = snap_read(s, id, &v) == 0;
	if (t != NULL)
		*t = *ok ? v.t_ns : 0;
	return *ok ? v.value : 0;
}

static void
check_traffic(struct doctor *d, struct snap *s)
{
	bool ok, ok2;
	int64_t t;
	double frames = snapv(s, SIG_can_frames_total, &ok, &t);
	double crc = snapv(s, SIG_can_crc_errors, &ok2, NULL), unk, gen;
	double age = ok ? (double)(now_real_ns() - t) / 1e9 : 0;

	if (!ok || frames == 0) {
		doctor_report(d, DOC_WARN, "can.frames", "is the car awake and the right bus wired?",
			      "no frames received yet");
		return;
	}
	if (snapv(s, SIG_can_bus_asleep, &ok2, NULL) == 1 && ok2)
		doctor_report(d, DOC_WARN, "can.frames", NULL, "%.0f frames, the bus is asleep now", frames);
	else
		doctor_report(d, DOC_OK, "can.frames", NULL, "%.0f frames, last %.1f s ago", frames, age);
	crc = ok2 ? crc : 0;
	if (crc / frames > 0.001)
		doctor_report(d, DOC_WARN, "can.crc", "check termination and wiring",
			      "%.2f %% of frames fail their CRC", 100 * crc / frames);
	else
		doctor_report(d, DOC_OK, "can.crc", NULL, "%.0f CRC failures", crc);
	unk = snapv(s, SIG_can_unknown_ids, &ok2, NULL);
	if (ok2 && unk / frames > 0.5)
		doctor_report(d, DOC_WARN, "can.ids", "is this the EV-CAN (OBD pins 12/13) or Car-CAN (6/14)?",
			      "%.0f %% of frames carry ids no Leaf sends", 100 * unk / frames);
	else
		doctor_report(d, DOC_OK, "can.ids", NULL, "Leaf ids seen");
	gen = snapv(s, SIG_vehicle_generation, &ok2, NULL);
	if (ok2)
		doctor_report(d, DOC_OK, "can.generation", NULL, "%s", decoder_gen_name((int)gen));
	else
		doctor_report(d, DOC_WARN, "can.generation", "set [can] generation if it never settles",
			      "not detected yet");
}

void
doctor_can_checks(struct doctor *d)
{
	const struct cli *c = doctor_cli(d);
	struct snap *s;

	check_sources(d, &c->cfg);
	if (snap_open(&s, c->rundir, false) < 0) {
		doctor_report(d, DOC_SKIP, "can.frames", "start leafmond", "no snapshot in %s", c->rundir);
		return;
	}
	check_traffic(d, s);
	snap_close(s);
}
