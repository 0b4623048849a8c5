/*
 * socketcan:IFACE. The AF_CAN setup (socket, ifindex, bind, filters) is a
 * thin shell that needs a CAN kernel; the read loop (recvmmsg batches with
 * SO_TIMESTAMPNS / SO_TIMESTAMP and SO_RXQ_OVFL cmsgs) is plain socket code
 * tested over socketpair(AF_UNIX, SOCK_SEQPACKET). The socket writes only
 * the cell poller's frames ([can] poll_cells), one classic frame per
 * non-blocking write; otherwise leafmon is listen-only. (A controller in
 * listen-only mode, `ip link set can0 type can ... listen-only on`, does not
 * even ACK, nor send; doctor says so.)
 */
#include "src.h"

#include <errno.h>
#include <stdio.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>

#include "log.h"
#include "util.h"

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif

void
socketcan_sockopts(int fd)
{
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	/* A full bus is ~4,000 frames/s and a queued frame costs ~1 KiB of
	 * receive buffer: the default (rmem_default, 208 KiB) rides out only
	 * ~50 ms of a stalled loop (measured in the VM test). Ask for ~2 s;
	 * without CAP_NET_ADMIN the kernel caps it at net.core.rmem_max. */
	int rcvbuf = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
}

static void
frame_to_rec(const struct canfd_frame *cf, size_t len, int bus, struct can_rec *r)
{
	memset(r, 0, offsetof(struct can_rec, data));
	r->bus = (uint8_t)bus;
	if (cf->can_id & CAN_EFF_FLAG) {
		r->flags |= CANF_EXT;
		r->id = cf->can_id & CAN_EFF_MASK;
	} else
		r->id = cf->can_id & CAN_SFF_MASK;
	if (cf->can_id & CAN_RTR_FLAG)
		r->flags |= CANF_RTR;
	if (cf->can_id & CAN_ERR_FLAG) {
		r->flags |= CANF_ERR;
		r->id = cf->can_id & CAN_ERR_MASK;
	}
	if (len == CANFD_MTU)
		r->flags |= CANF_FD;
	r->len = cf->len > (len == CANFD_MTU ? CANFD_MAX_DLEN : CAN_MAX_DLEN)
			 ? (len == CANFD_MTU ? CANFD_MAX_DLEN : CAN_MAX_DLEN)
			 : cf->len;
	memcpy(r->data, cf->data, r->len);
}

static int64_t
cmsg_time(struct msghdr *mh, uint32_t *ovfl, bool *have_ovfl)
{
	int64_t t = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			t = ts.tv_sec * 1000000000LL + ts.tv_nsec;
		} else if (c->cmsg_type == SCM_TIMESTAMP) {
			struct timeval tv;
			memcpy(&tv, CMSG_DATA(c), sizeof(tv));
			t = tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
		} else if (c->cmsg_type == SO_RXQ_OVFL) {
			memcpy(ovfl, CMSG_DATA(c), sizeof(*ovfl));
			*have_ovfl = true;
		}
	}
	return t;
}

int
socketcan_read_batch(int fd, struct can_rec *out, size_t cap, int bus, uint32_t *ovfl,
		     bool *have_ovfl)
{
	struct canfd_frame fr[SRC_BATCH];
	struct iovec iov[SRC_BATCH];
	struct mmsghdr mm[SRC_BATCH];
	char ctl[SRC_BATCH][CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t)) + 16];
	int n;

	if (cap > SRC_BATCH)
		cap = SRC_BATCH;
	for (size_t i = 0; i < cap; i++) {
		iov[i].iov_base = &fr[i];
		iov[i].iov_len = sizeof(fr[i]);
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_control = ctl[i];
		mm[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
	}
	n = recvmmsg(fd, mm, (unsigned)cap, MSG_DONTWAIT, NULL);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
	int k = 0;
	for (int i = 0; i < n; i++) {
		size_t len = mm[i].msg_len;
		if (len != CAN_MTU && len != CANFD_MTU)
			continue; /* not a CAN frame: ignore */
		int64_t t = cmsg_time(&mm[i].msg_hdr, ovfl, have_ovfl);
		frame_to_rec(&fr[i], len, bus, &out[k]);
		out[k].t_ns = t != 0 ? t : now_real_ns();
		k++;
	}
	return k;
}

static void
sc_read(struct can_src *s, uint32_t ev)
{
	struct can_rec recs[SRC_BATCH];
	uint32_t ovfl = 0;
	bool have = false;
	int n;

	for (int rounds = 0; rounds < 8; rounds++) {
		n = socketcan_read_batch(s->fd, recs, SRC_BATCH, s->spec.bus, &ovfl, &have);
		if (have && ovfl > s->rx_overflows)
			s->rx_overflows = ovfl;
		if (n < 0 || (ev & (EPOLLERR | EPOLLHUP) && n == 0)) {
			snprintf(s->err, sizeof(s->err), "%s: %s", s->spec.path,
				 n < 0 ? strerror(errno) : "hang-up");
			src_close(s);
			if (s->on_fail)
				s->on_fail(s, s->arg);
			return;
		}
		for (int i = 0; i < n; i++)
			if ((recs[i].flags & CANF_ERR) && (recs[i].id & CAN_ERR_BUSOFF))
				s->bus_off = true;
			else if (!(recs[i].flags & CANF_ERR))
				s->bus_off = false;
		s->frames += (uint64_t)n;
		if (n > 0)
			s->on_frames(s, recs, (size_t)n, s->arg);
		if (n < SRC_BATCH)
			break;
	}
}

/* One classic frame, never blocking (a full queue is EAGAIN/ENOBUFS). */
static int
socketcan_send(struct can_src *s, const struct can_rec *f)
{
	struct can_frame cf = {0};
	ssize_t n;

	if (f->len > CAN_MAX_DLEN || (f->flags & (CANF_FD | CANF_ERR))) {
		errno = EINVAL;
		return -1;
	}
	cf.can_id = f->id | ((f->flags & CANF_EXT) ? CAN_EFF_FLAG : 0) |
		    ((f->flags & CANF_RTR) ? CAN_RTR_FLAG : 0);
	cf.len = f->len;
	memcpy(cf.data, f->data, f->len);
	n = send(s->fd, &cf, sizeof(cf), MSG_DONTWAIT);
	if (n == (ssize_t)sizeof(cf))
		return 0;
	if (n >= 0)
		errno = EIO;
	return -1;
}

int
src_socketcan_attach(struct can_src *s, int fd)
{
	fd_nonblock(fd);
	fd_cloexec(fd);
	s->fd = fd;
	s->send_fn = socketcan_send;
	if (src_watch_fd(s, sc_read) < 0) {
		snprintf(s->err, sizeof(s->err), "epoll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
src_socketcan_open(struct can_src *s)
{
	struct sockaddr_can addr = {0};
	struct ifreq ifr = {0};
	can_err_mask_t emask = CAN_ERR_BUSOFF | CAN_ERR_CRTL | CAN_ERR_RESTARTED;
	int one = 1, fd;

	fd = socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);
	if (fd < 0) {
		snprintf(s->err, sizeof(s->err), "socket(AF_CAN): %s", strerror(errno));
		return -1;
	}
	if (str_copy(ifr.ifr_name, s->spec.path, sizeof(ifr.ifr_name)) < 0 ||
	    ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		snprintf(s->err, sizeof(s->err), "interface %s: %s", s->spec.path, strerror(errno));
		close(fd);
		return -1;
	}
	/* a socket binds to a down interface and then reads ENETDOWN: wait for
	 * it to be up, so one outage is one outage, not a flap every retry */
	int ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 || !(ifr.ifr_flags & IFF_UP)) {
		snprintf(s->err, sizeof(s->err), "interface %s is down", s->spec.path);
		close(fd);
		return -1;
	}
	addr.can_family = AF_CAN;
	addr.can_ifindex = ifindex;
	setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, &one, sizeof(one));
	setsockopt(fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &emask, sizeof(emask));
	/* our own frames (the poller's) are not read back: a 0x79B we read is
	 * another tester's */
	setsockopt(fd, SOL_CAN_RAW, CAN_RAW_RECV_OWN_MSGS, &(int){0}, sizeof(int));
	socketcan_sockopts(fd);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		snprintf(s->err, sizeof(s->err), "bind %s: %s", s->spec.path, strerror(errno));
		close(fd);
		return -1;
	}
	return src_socketcan_attach(s, fd);
}
