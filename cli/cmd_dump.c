/*
 * leafmon dump [--id LIST]: live raw frames from leafmon-can (frames.ipc)
 * in candump -l format, the bus name standing in for the interface, until
 * interrupted. LIST: hex ids and ranges, "1DB,5BC,700-7FF".
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bus.h"
#include "canframe.h"
#include "cli.h"
#include "logfmt.h"
#include "msg.h"

#define MAX_RANGES 64

struct idfilter {
	int n;
	uint32_t lo[MAX_RANGES], hi[MAX_RANGES];
};

static volatile sig_atomic_t dump_stop;

static void
on_sig(int sig)
{
	dump_stop = 1;
}

static int
parse_ids(const char *s, struct idfilter *f)
{
	char *end;

	f->n = 0;
	while (*s != '\0') {
		if (f->n == MAX_RANGES)
			return -1;
		errno = 0;
		unsigned long lo = strtoul(s, &end, 16), hi = lo;
		if (end == s || errno != 0 || lo > 0x1FFFFFFF)
			return -1;
		if (*end == '-') {
			s = end + 1;
			hi = strtoul(s, &end, 16);
			if (end == s || hi < lo || hi > 0x1FFFFFFF)
				return -1;
		}
		f->lo[f->n] = (uint32_t)lo;
		f->hi[f->n++] = (uint32_t)hi;
		if (*end == ',')
			end++;
		else if (*end != '\0')
			return -1;
		s = end;
	}
	return f->n > 0 ? 0 : -1;
}

static bool
wanted(const struct idfilter *f, uint32_t id)
{
	if (f->n == 0)
		return true;
	for (int i = 0; i < f->n; i++)
		if (id >= f->lo[i] && id <= f->hi[i])
			return true;
	return false;
}

static void
print_frame(const Frame *m)
{
	struct can_rec r = {0};
	char line[200];

	r.t_ns = m->t_ns;
	r.id = m->id;
	r.flags = (uint8_t)m->flags;
	r.bus = (uint8_t)m->bus;
	r.len = (uint8_t)(m->data.len > CAN_MAX_LEN ? CAN_MAX_LEN : m->data.len);
	memcpy(r.data, m->data.data, r.len);
	if (logfmt_candump(line, sizeof(line), &r, can_bus_name(r.bus)) > 0)
		fputs(line, stdout);
}

static int
dump_loop(nng_socket s, const struct idfilter *f)
{
	int fd;
	struct pollfd p;

	if (bus_recv_fd(s, &fd) != 0)
		return 1;
	p.fd = fd;
	p.events = POLLIN;
	while (!dump_stop) {
		if (poll(&p, 1, 200) < 0 && errno != EINTR)
			return 1;
		for (nng_msg *msg; nng_recvmsg(s, &msg, NNG_FLAG_NONBLOCK) == 0; nng_msg_free(msg)) {
			Frame *m = msg_frame_unpack(nng_msg_body(msg), nng_msg_len(msg));
			if (m == NULL)
				continue;
			if (wanted(f, m->id))
				print_frame(m);
			protobuf_c_message_free_unpacked(&m->base, NULL);
		}
		if (fflush(stdout) != 0)
			return 1; /* the reader went away */
	}
	return 0;
}

int
cmd_dump(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"id", required_argument, NULL, 'i'},
					     {NULL, 0, NULL, 0}};
	struct idfilter f = {0};
	char path[512];
	struct stat st;
	nng_socket s;
	int ch, rc;

	optind = 0; /* glibc: re-initialise (leafmon.c parsed with "+") */
	while ((ch = getopt_long(argc, argv, "i:", opts, NULL)) != -1) {
		if (ch != 'i' || parse_ids(optarg, &f) < 0) {
			fprintf(stderr, "usage: leafmon dump [--id 1DB,5BC,700-7FF]\n");
			return EXIT_USAGE;
		}
	}
	snprintf(path, sizeof(path), "%s/%s", c->rundir, BUS_FRAMES);
	if (stat(path, &st) < 0) {
		fprintf(stderr, "leafmon dump: no %s: is leafmond running?\n", path);
		return EXIT_NOT_RUNNING;
	}
	if (bus_sub_dial(&s, c->rundir, BUS_FRAMES, NULL, 0) != 0)
		return EXIT_NOT_RUNNING;
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	signal(SIGPIPE, SIG_IGN);
	rc = dump_loop(s, &f);
	bus_close(s);
	return rc;
}
