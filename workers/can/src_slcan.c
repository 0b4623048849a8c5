/*
 * slcan:/dev/tty... A serial Lawicel adapter: raw tty, then the opening
 * dialogue one command at a time (each waits for its "\r"/"\a" answer or
 * 300 ms): "C" close, "Sn" bitrate, "L" listen-only; an adapter that
 * refuses "L" with "\a" is opened normally with "O" (it then ACKs frames
 * but we still never send any). With the cell poller on (s->tx) the
 * adapter is opened with "O" and the poller's frames go out as "tIIIL.."
 * lines. Frames are stamped at read time.
 */
#include "src.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "slcan.h"
#include "util.h"

#define CMD_WAIT_NS (300LL * 1000 * 1000)

enum { SL_CLOSE, SL_BITRATE, SL_LISTEN, SL_OPEN, SL_RUN };

struct slcan_src {
	struct slcan_rx rx;
	int step;
	uint64_t oks, bells; /* answers counted when the step began */
	bool listen_only;
};

static void
sl_send(struct can_src *s, const char *cmd)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%s\r", cmd);

	if (write(s->fd, buf, (size_t)n) != n)
		log_debug("slcan %s: write %s: %s", s->spec.path, cmd, strerror(errno));
}

static void
sl_step(struct can_src *s, int step)
{
	struct slcan_src *p = s->priv;

	p->step = step;
	p->oks = p->rx.oks;
	p->bells = p->rx.bells;
	switch (step) {
	case SL_CLOSE: sl_send(s, "C"); break;
	case SL_BITRATE: sl_send(s, slcan_bitrate_cmd(s->spec.bitrate ? s->spec.bitrate : 500000)); break;
	case SL_LISTEN: sl_send(s, "L"); break;
	case SL_OPEN: sl_send(s, "O"); break;
	default:
		log_info("slcan %s open (%s)", s->spec.path,
			 p->listen_only ? "listen-only"
			 : s->tx	? "normal mode: the cell poller sends"
					: "normal mode: the adapter refused L");
		loop_timer_stop(s->timer);
		return;
	}
	loop_timer_after(s->timer, CMD_WAIT_NS);
}

/* An answer (or the timeout) ends the current step. */
static void
sl_advance(struct can_src *s, bool timeout)
{
	struct slcan_src *p = s->priv;
	bool bell = p->rx.bells > p->bells, ok = p->rx.oks > p->oks;

	if (p->step >= SL_RUN || (!timeout && !bell && !ok))
		return;
	if (p->step == SL_BITRATE && s->tx)
		sl_step(s, SL_OPEN); /* the poller sends: not listen-only */
	else if (p->step == SL_LISTEN) {
		p->listen_only = !bell;
		sl_step(s, bell ? SL_OPEN : SL_RUN);
	} else
		sl_step(s, p->step + 1);
}

static void
on_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	sl_advance(arg, true);
}

static void
sl_read(struct can_src *s, uint32_t ev)
{
	struct slcan_src *p = s->priv;
	uint8_t buf[256];
	struct can_rec recs[SRC_BATCH];
	ssize_t n;

	for (int rounds = 0; rounds < 16; rounds++) {
		n = read(s->fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			snprintf(s->err, sizeof(s->err), "%s: %s", s->spec.path,
				 n == 0 ? "closed" : strerror(errno));
			src_close(s);
			if (s->on_fail)
				s->on_fail(s, s->arg);
			return;
		}
		size_t k = slcan_feed(&p->rx, buf, (size_t)n, recs, SRC_BATCH, s->spec.bus, now_real_ns());
		s->errors = p->rx.errors;
		s->frames += k;
		sl_advance(s, false);
		if (k > 0)
			s->on_frames(s, recs, k, s->arg);
		if (s->fd < 0)
			return; /* closed by the callback */
	}
}

/* A frame as a "t..." line, once the adapter is open (a short write is
 * an error: the line would be cut). */
static int
sl_transmit(struct can_src *s, const struct can_rec *f)
{
	struct slcan_src *p = s->priv;
	char line[SLCAN_LINE_MAX + 8];
	int n;

	if (p->step < SL_RUN || p->listen_only) {
		errno = EAGAIN;
		return -1;
	}
	if ((n = slcan_format(line, sizeof(line), f)) <= 0) {
		errno = EINVAL;
		return -1;
	}
	ssize_t w = write(s->fd, line, (size_t)n);
	if (w == n)
		return 0;
	if (w >= 0)
		errno = EIO;
	return -1;
}

static void
sl_close(struct can_src *s)
{
	if (s->fd >= 0)
		sl_send(s, "C");
	free(s->priv);
	s->priv = NULL;
}

int
src_slcan_open(struct can_src *s)
{
	struct termios tio;
	struct slcan_src *p;
	int fd;

	if (slcan_bitrate_cmd(s->spec.bitrate ? s->spec.bitrate : 500000) == NULL) {
		snprintf(s->err, sizeof(s->err), "slcan has no code for bitrate %ld", s->spec.bitrate);
		return -1;
	}
	fd = open(s->spec.path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(s->err, sizeof(s->err), "%s: %s", s->spec.path, strerror(errno));
		return -1;
	}
	if (tcgetattr(fd, &tio) == 0) {
		cfmakeraw(&tio);
		cfsetspeed(&tio, B115200); /* USB adapters ignore it; UART ones need it */
		tcsetattr(fd, TCSANOW, &tio);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		close(fd);
		return -1;
	}
	slcan_rx_init(&p->rx);
	s->priv = p;
	s->close_fn = sl_close;
	s->send_fn = sl_transmit;
	s->fd = fd;
	s->timer = loop_timer_new(s->loop, on_timer, s);
	if (s->timer == NULL || src_watch_fd(s, sl_read) < 0) {
		snprintf(s->err, sizeof(s->err), "%s: loop: %s", s->spec.path, strerror(errno));
		return -1;
	}
	sl_step(s, SL_CLOSE);
	return 0;
}
