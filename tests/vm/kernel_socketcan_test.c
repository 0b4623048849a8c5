/*
 * Real-kernel SocketCAN, checked from first principles inside the test VM
 * (tests/vm/leafmon_vm.py): frames sent by can-utils arrive on a CAN_RAW
 * socket with kernel timestamps, filters and error-frame masks select what
 * they should, the overflow counter accounts for every drop, and a socket
 * survives its interface going down and up. Skips (77) without AF_CAN.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>

#include "t.h"
#include "util.h"

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif

extern char **environ;

struct rx {
	struct can_frame f;
	int64_t t_ns;	/* kernel receive time (SCM_TIMESTAMPNS), 0 when absent */
	uint32_t ovfl;	/* SO_RXQ_OVFL: frames the kernel dropped on this socket */
	int have_ovfl;
};

static void
need_can(void)
{
	int fd = socket(PF_CAN, SOCK_RAW, CAN_RAW);

	if (fd < 0)
		t_skip("no AF_CAN in this kernel (run through tests/vm/leafmon_vm.py)");
	close(fd);
}

static pid_t
spawn(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0)
		t_fail(__FILE__, __LINE__, "spawn %s: %s", cmd, strerror(errno));
	return pid;
}

static int
reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define RUN(...) CHECK_INT(reap(spawn(__VA_ARGS__)), ==, 0)

static int
raw_open(const char *ifname)
{
	struct sockaddr_can addr = {.can_family = AF_CAN};
	int one = 1;
	int fd = socket(PF_CAN, SOCK_RAW | SOCK_CLOEXEC, CAN_RAW);

	CHECK(fd >= 0);
	addr.can_ifindex = (int)if_nametoindex(ifname);
	CHECK(addr.can_ifindex > 0);
	CHECK(setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) == 0);
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) == 0);
	CHECK(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	return fd;
}

/* A reader that must not lose frames to a stalled vCPU (a loaded TCG host):
 * a 4 MiB receive buffer, as leafmon-can asks for. */
static int
raw_open_big(const char *ifname)
{
	int fd = raw_open(ifname), big = 4 << 20;

	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) == 0);
	return fd;
}

/* 1 frame received, 0 nothing within timeout_ms, -1 error (errno set). */
static int
raw_recv(int fd, int timeout_ms, struct rx *r)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char ctl[CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t))];
	struct iovec iov = {.iov_base = &r->f, .iov_len = sizeof(r->f)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl)};

	int n = poll(&p, 1, timeout_ms);
	if (n <= 0)
		return n;
	ssize_t len = recvmsg(fd, &mh, MSG_DONTWAIT);
	if (len < 0)
		return -1;
	CHECK_INT(len, ==, (ssize_t)sizeof(struct can_frame));
	r->t_ns = 0;
	r->have_ovfl = 0;
	r->ovfl = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			r->t_ns = ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
		} else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			memcpy(&r->ovfl, CMSG_DATA(c), sizeof(r->ovfl));
			r->have_ovfl = 1;
		}
	}
	return 1;
}

static uint64_t
if_stat(const char *ifname, const char *what)
{
	char path[128];
	int64_t v = -1;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", ifname, what);
	char *s = file_read_str(path, 64, NULL);
	CHECK(s != NULL);
	s[strcspn(s, "\n")] = 0;
	CHECK(parse_i64(s, 0, INT64_MAX, &v) == 0);
	free(s);
	return (uint64_t)v;
}

static void
test_socketcan_cansend_kernel_timestamps(void)
{
	struct rx r[3];

	need_can();
	int fd = raw_open("vcan0");
	int64_t t0 = now_real_ns();
	RUN("cansend vcan0 123#DEADBEEF && cansend vcan0 1ABCDEF0#0102 && cansend vcan0 321#R");
	int64_t t1 = now_real_ns();
	for (int i = 0; i < 3; i++)
		CHECK_INT(raw_recv(fd, 2000, &r[i]), ==, 1);
	CHECK_INT(r[0].f.can_id, ==, 0x123);
	CHECK_INT(r[0].f.can_dlc, ==, 4);
	CHECK(memcmp(r[0].f.data, "\xde\xad\xbe\xef", 4) == 0);
	CHECK_INT(r[1].f.can_id, ==, 0x1ABCDEF0 | CAN_EFF_FLAG);
	CHECK_INT(r[1].f.can_dlc, ==, 2);
	CHECK_INT(r[2].f.can_id, ==, 0x321 | CAN_RTR_FLAG);
	for (int i = 0; i < 3; i++) {
		/* a kernel timestamp, taken while the senders ran, in order */
		CHECK(r[i].t_ns >= t0 && r[i].t_ns <= t1);
		CHECK(i == 0 || r[i].t_ns >= r[i - 1].t_ns);
		/* the kernel attaches SO_RXQ_OVFL only once a drop has happened */
		CHECK(!r[i].have_ovfl);
	}
	close(fd);
}

/* cangen -D i puts a little-endian counter in the payload: consecutive
 * frames carry consecutive counters, so a loss shows as a jump. */
static uint64_t
payload_counter(const struct can_frame *f)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | f->data[i];
	return v;
}

/* A sender paced by deadlines, like a bus: every frame has a due time
 * (t0 + i / rate); all frames that are due go out, then it sleeps until the
 * next one. Per-frame sleeps (cangen -g) overshoot badly under TCG. */
static void
send_paced(const char *ifname, uint32_t id, int n, int rate)
{
	struct can_frame f = {.can_id = id, .can_dlc = 8};
	int fd = raw_open(ifname);
	int64_t t0 = now_mono_ns();

	for (int i = 0; i < n; i++) {
		int64_t due = t0 + (int64_t)i * NSEC_PER_SEC / rate;
		int64_t now = now_mono_ns();
		if (due > now) {
			struct timespec ts = {.tv_sec = 0, .tv_nsec = due - now};
			nanosleep(&ts, NULL);
		}
		for (int b = 0; b < 8; b++)
			f.data[b] = (uint8_t)((uint64_t)i >> (8 * b));
		while (write(fd, &f, sizeof(f)) != (ssize_t)sizeof(f))
			if (errno != ENOBUFS && errno != EINTR)
				_exit(2);
	}
	_exit(0);
}

/* Receive n frames of id from fd; count the jumps in the payload counter. */
static int
recv_counted(int fd, uint32_t id, int n, int *jumps, struct rx *r)
{
	uint64_t prev = 0;
	int got = 0;

	*jumps = 0;
	while (got < n && raw_recv(fd, 5000, r) == 1) {
		if (r->f.can_id != id)
			continue;
		if (got > 0 && payload_counter(&r->f) != prev + 1)
			(*jumps)++;
		prev = payload_counter(&r->f);
		got++;
	}
	return got;
}

static void
test_socketcan_paced_4000_nothing_dropped(void)
{
	const int n = 8000, rate = 4000; /* 2 s of a full 500 kbit/s bus */
	struct rx r = {0};
	int jumps;

	need_can();
	int fd = raw_open_big("vcan0");
	uint64_t rx0 = if_stat("vcan0", "rx_packets");
	int64_t t0 = now_mono_ns();
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		send_paced("vcan0", 0x555, n, rate);
	int got = recv_counted(fd, 0x555, n, &jumps, &r);
	double secs = (double)(now_mono_ns() - t0) / 1e9;
	CHECK_INT(reap(pid), ==, 0);
	printf("     MEASURE kernel_paced_rate %.0f frames/s (%d frames in %.2f s)\n", got / secs,
	       got, secs);
	CHECK_INT(got, ==, n);
	CHECK_INT(jumps, ==, 0);
	CHECK(!r.have_ovfl);
	CHECK_INT(if_stat("vcan0", "rx_packets") - rx0, ==, n);
	close(fd);
}

static void
test_socketcan_cangen_sequence(void)
{
	const int n = 500;
	struct rx r = {0};
	int jumps;

	need_can();
	int fd = raw_open_big("vcan0");
	pid_t pid = spawn("cangen vcan0 -n %d -g 1 -I 557 -L 8 -D i", n);
	int got = recv_counted(fd, 0x557, n, &jumps, &r);
	CHECK_INT(reap(pid), ==, 0);
	CHECK_INT(got, ==, n);
	CHECK_INT(jumps, ==, 0);
	CHECK(!r.have_ovfl);
	close(fd);
}

/* A reader that does not read while a burst arrives: the kernel drops, and
 * SO_RXQ_OVFL plus the interface's own drop counter account for each loss.
 * The drop count rides on the next frame queued after the drops, so a
 * sentinel frame is sent once the reader has drained its queue. */
static void
test_socketcan_overflow_counted(void)
{
	const int n = 3000;
	int small = 4096;
	struct rx r = {0};
	int got = 0;

	need_can();
	int fd = raw_open("vcan0");
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == 0);
	uint64_t drop0 = if_stat("vcan0", "rx_dropped");
	RUN("cangen vcan0 -n %d -g 0 -I 556 -L 8 -D i", n);
	while (raw_recv(fd, 200, &r) == 1)
		got++;
	CHECK(!r.have_ovfl); /* drops happened after the last frame that was queued */
	RUN("cansend vcan0 7FF#00");
	CHECK_INT(raw_recv(fd, 2000, &r), ==, 1);
	CHECK_INT(r.f.can_id, ==, 0x7FF);
	uint64_t ifdrop = if_stat("vcan0", "rx_dropped") - drop0;
	printf("     MEASURE kernel_overflow_burst received=%d so_rxq_ovfl=%u if_rx_dropped=%llu\n",
	       got, r.ovfl, (unsigned long long)ifdrop);
	CHECK(got > 0);
	CHECK(r.have_ovfl);
	CHECK(r.ovfl > 0);
	CHECK_INT((uint64_t)got + r.ovfl + ifdrop, ==, n);
	close(fd);
}

static int
count_ids(int fd, uint32_t *ids, int max)
{
	struct rx r;
	int n = 0;

	while (n < max && raw_recv(fd, 0, &r) == 1)
		ids[n++] = r.f.can_id;
	return n;
}

static void
test_socketcan_raw_filters(void)
{
	struct can_filter sel[] = {
		{0x100, CAN_SFF_MASK | CAN_EFF_FLAG},	       /* standard 0x100 only */
		{0x200, 0x700 | CAN_EFF_FLAG},		       /* standard 0x200-0x2FF */
		{0x1ABCDEF0 | CAN_EFF_FLAG, CAN_EFF_MASK | CAN_EFF_FLAG},
	};
	struct can_filter inv = {0x123 | CAN_INV_FILTER, CAN_SFF_MASK};
	uint32_t ids[16];
	struct rx r;

	need_can();
	int all = raw_open("vcan0"), fsel = raw_open("vcan0"), finv = raw_open("vcan0");
	int none = raw_open("vcan0");
	CHECK(setsockopt(fsel, SOL_CAN_RAW, CAN_RAW_FILTER, sel, sizeof(sel)) == 0);
	CHECK(setsockopt(finv, SOL_CAN_RAW, CAN_RAW_FILTER, &inv, sizeof(inv)) == 0);
	CHECK(setsockopt(none, SOL_CAN_RAW, CAN_RAW_FILTER, NULL, 0) == 0);
	RUN("for f in 100#01 101#02 00000100#03 200#04 2FF#05 300#06 123#07 1ABCDEF0#08 "
	    "1ABCDEF1#09; do cansend vcan0 $f || exit 1; done");
	/* once the unfiltered socket has all nine, every socket has had its turn */
	for (int i = 0; i < 9; i++)
		CHECK_INT(raw_recv(all, 2000, &r), ==, 1);
	CHECK_INT(count_ids(fsel, ids, 16), ==, 4);
	CHECK_INT(ids[0], ==, 0x100);
	CHECK_INT(ids[1], ==, 0x200);
	CHECK_INT(ids[2], ==, 0x2FF);
	CHECK_INT(ids[3], ==, 0x1ABCDEF0 | CAN_EFF_FLAG);
	CHECK_INT(count_ids(finv, ids, 16), ==, 8);
	for (int i = 0; i < 8; i++)
		CHECK((ids[i] & CAN_SFF_MASK) != 0x123 || (ids[i] & CAN_EFF_FLAG));
	CHECK_INT(count_ids(none, ids, 16), ==, 0);
	close(all), close(fsel), close(finv), close(none);
}

/* Error frames reach only sockets whose CAN_RAW_ERR_FILTER asks for their
 * class; cansend takes an 8-digit id with CAN_ERR_FLAG as an error frame. */
static void
test_socketcan_error_frames(void)
{
	can_err_mask_t busoff = CAN_ERR_BUSOFF | CAN_ERR_RESTARTED;
	struct rx r;

	need_can();
	int plain = raw_open("vcan0"), err = raw_open("vcan0");
	CHECK(setsockopt(err, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &busoff, sizeof(busoff)) == 0);
	RUN("cansend vcan0 20000004#0004000000000000 && cansend vcan0 20000040#0000000000000000 "
	    "&& cansend vcan0 20000100#0000000000000000 && cansend vcan0 7E8#AA");
	CHECK_INT(raw_recv(err, 2000, &r), ==, 1);
	CHECK_INT(r.f.can_id, ==, CAN_ERR_FLAG | CAN_ERR_BUSOFF); /* CRTL was not asked for */
	CHECK_INT(raw_recv(err, 2000, &r), ==, 1);
	CHECK_INT(r.f.can_id, ==, CAN_ERR_FLAG | CAN_ERR_RESTARTED);
	CHECK_INT(raw_recv(err, 2000, &r), ==, 1);
	CHECK_INT(r.f.can_id, ==, 0x7E8);
	CHECK_INT(raw_recv(plain, 2000, &r), ==, 1);
	CHECK_INT(r.f.can_id, ==, 0x7E8); /* no error frames without a mask */
	CHECK_INT(raw_recv(plain, 0, &r), ==, 0);
	close(plain), close(err);
}

static void
test_socketcan_interface_down_up(void)
{
	struct rx r;

	need_can();
	int fd = raw_open("vcan0");
	RUN("/usr/sbin/ip link set vcan0 down");
	/* the bound socket reports the loss once, then stays usable */
	CHECK_INT(raw_recv(fd, 2000, &r), ==, -1);
	CHECK_INT(errno, ==, ENETDOWN);
	RUN("/usr/sbin/ip link set vcan0 up && cansend vcan0 42A#0102");
	CHECK_INT(raw_recv(fd, 2000, &r), ==, 1);
	CHECK_INT(r.f.can_id, ==, 0x42A);
	/* the interface deleted and re-created: ENODEV, and a new socket is needed */
	RUN("/usr/sbin/ip link del vcan0 && /usr/sbin/ip link add dev vcan0 type vcan && "
	    "/usr/sbin/ip link set vcan0 up && cansend vcan0 42B#03");
	CHECK_INT(raw_recv(fd, 2000, &r), ==, -1);
	CHECK_INT(errno, ==, ENODEV);
	CHECK_INT(raw_recv(fd, 100, &r), ==, 0);
	close(fd);
	fd = raw_open("vcan0");
	RUN("cansend vcan0 42C#04");
	CHECK_INT(raw_recv(fd, 2000, &r), ==, 1);
	CHECK_INT(r.f.can_id, ==, 0x42C);
	close(fd);
}

static int
operstate_up(const char *ifname)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/net/%s/operstate", ifname);
	char *s = file_read_str(path, 64, NULL);
	int up = s != NULL && strncmp(s, "up", 2) == 0;
	free(s);
	return up;
}

/* Two emulated Kvaser PCI boards on one qemu CAN bus, driven by the kernel's
 * SJA1000 driver: what can0 sends, can1 receives. */
static void
test_socketcan_kvaser_sja1000(void)
{
	const int n = 1000;
	struct rx r;
	int got = 0, jumps;

	need_can();
	if (access("/sys/class/net/can1", F_OK) != 0)
		t_skip("no emulated kvaser_pci boards (leafmon_vm.py run --kvaser)");
	int64_t deadline = now_mono_ns() + 5 * NSEC_PER_SEC;
	while (!(operstate_up("can0") && operstate_up("can1")) && now_mono_ns() < deadline)
		poll(NULL, 0, 20);
	CHECK(operstate_up("can0") && operstate_up("can1"));
	int fd = raw_open_big("can1");
	int64_t t0 = now_real_ns();
	RUN("cansend can0 5BC#0011223344556677");
	CHECK_INT(raw_recv(fd, 2000, &r), ==, 1);
	CHECK_INT(r.f.can_id, ==, 0x5BC);
	CHECK(memcmp(r.f.data, "\x00\x11\x22\x33\x44\x55\x66\x77", 8) == 0);
	CHECK(r.t_ns >= t0 && r.t_ns <= now_real_ns());
	uint64_t rx0 = if_stat("can1", "rx_packets");
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		send_paced("can0", 0x1DB, n, 1000);
	got = recv_counted(fd, 0x1DB, n, &jumps, &r);
	CHECK_INT(reap(pid), ==, 0);
	printf("     MEASURE kernel_kvaser got=%d jumps=%d ovfl=%u can1_rx=%llu over=%llu fifo=%llu\n",
	       got, jumps, r.have_ovfl ? r.ovfl : 0,
	       (unsigned long long)(if_stat("can1", "rx_packets") - rx0),
	       (unsigned long long)if_stat("can1", "rx_over_errors"),
	       (unsigned long long)if_stat("can1", "rx_fifo_errors"));
	CHECK_INT(got, ==, n);
	CHECK_INT(jumps, ==, 0);
	CHECK(!r.have_ovfl);
	close(fd);
}

T_MAIN(T(test_socketcan_cansend_kernel_timestamps), T(test_socketcan_cangen_sequence),
       T(test_socketcan_paced_4000_nothing_dropped),
       T(test_socketcan_overflow_counted), T(test_socketcan_raw_filters),
       T(test_socketcan_error_frames), T(test_socketcan_interface_down_up),
       T(test_socketcan_kvaser_sja1000))
