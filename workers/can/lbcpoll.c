/*
 * The cell poller's state machine (see poll.h). One exchange at a time:
 * request, first frame (or a single frame), flow control, consecutive
 * frames; every wait has a deadline, every way out of an exchange moves on
 * to the next group of the cycle and is counted.
 */
#include "lbcpoll.h"

#include <string.h>

const uint8_t lbcpoll_groups[LBCPOLL_NGROUPS] = {0x01, 0x02, 0x04, 0x06};

void
lbcpoll_init(struct lbcpoll *p, int bus, int64_t interval_ns)
{
	memset(p, 0, sizeof(*p));
	p->bus = bus;
	p->interval_ns = interval_ns;
	p->state = LBCPOLL_IDLE;
}

bool
lbcpoll_busy(const struct lbcpoll *p)
{
	return p->state == LBCPOLL_WAIT_FIRST || p->state == LBCPOLL_WAIT_CF;
}

static void
queue(struct lbcpoll *p, const uint8_t d[8])
{
	struct can_rec *f;

	if (p->ntx >= LBCPOLL_TX_MAX)
		return;
	f = &p->tx[p->ntx++];
	memset(f, 0, sizeof(*f));
	f->id = LBCPOLL_REQ_ID;
	f->len = 8;
	f->bus = (uint8_t)p->bus;
	memcpy(f->data, d, 8);
}

/* The first group of the cycle from index i on that the LBC answers, or
 * LBCPOLL_NGROUPS. */
static int
group_from(const struct lbcpoll *p, int i)
{
	while (i < LBCPOLL_NGROUPS && (p->skip & (1u << i)))
		i++;
	return i;
}

static void
request(struct lbcpoll *p, int64_t now)
{
	uint8_t d[8] = {0x02, 0x21, lbcpoll_groups[p->group], 0, 0, 0, 0, 0};

	queue(p, d);
	p->st.requests++;
	p->state = LBCPOLL_WAIT_FIRST;
	p->deadline = now + LBCPOLL_REPLY_NS;
	p->len = p->want = 0;
}

/* This exchange is over (answered or not): the next group, after a gap. */
static void
next_group(struct lbcpoll *p, int64_t now)
{
	p->group = group_from(p, p->group + 1);
	p->len = p->want = 0;
	if (p->group >= LBCPOLL_NGROUPS) {
		p->state = LBCPOLL_IDLE;
		return;
	}
	p->state = LBCPOLL_GAP;
	p->deadline = now + LBCPOLL_GAP_NS;
}

/* The cycle stops here (another tester, the bus asleep, a send error). */
static void
abort_cycle(struct lbcpoll *p)
{
	if (lbcpoll_busy(p))
		p->st.aborted++;
	p->state = LBCPOLL_IDLE;
	p->ntx = 0;
	p->len = p->want = 0;
}

/* A single frame's payload: our positive reply, a negative one, or else. */
static int
single(struct lbcpoll *p, const uint8_t *b, size_t n, int64_t now)
{
	uint8_t gg = lbcpoll_groups[p->group];

	if (n >= 2 && b[0] == 0x61 && b[1] == gg) {
		memcpy(p->buf, b, n);
		p->len = n;
		p->st.replies++;
		next_group(p, now);
		p->len = n; /* next_group cleared it: the reply stays readable */
		return 1;
	}
	if (n >= 3 && b[0] == 0x7F && b[1] == 0x21) {
		if (b[2] == 0x78) { /* response pending: the reply comes later */
			p->st.pending++;
			p->state = LBCPOLL_WAIT_FIRST;
			p->deadline = now + LBCPOLL_PENDING_NS;
			return 0;
		}
		p->st.nrc++;
		p->last_nrc = b[2];
		if (b[2] == 0x11 || b[2] == 0x12) { /* not supported: ask no more */
			p->skip |= (uint8_t)(1u << p->group);
			p->st.unsupported++;
		}
	} else
		p->st.bad_replies++;
	next_group(p, now);
	return 0;
}

static void
first(struct lbcpoll *p, const struct can_rec *f, int64_t now)
{
	const uint8_t *b = f->data;
	size_t n = ((size_t)(b[0] & 0x0F) << 8) | b[1];
	static const uint8_t fc[8] = {0x30, 0x00, 0x00, 0, 0, 0, 0, 0};

	if (f->len != 8 || n < 8 || n > LBCPOLL_REPLY_MAX || b[2] != 0x61 ||
	    b[3] != lbcpoll_groups[p->group]) {
		p->st.bad_replies++; /* not our reply: no flow control for it */
		next_group(p, now);
		return;
	}
	if (p->state == LBCPOLL_WAIT_CF)
		p->st.restarts++; /* ISO 15765-2: a new first frame starts over */
	memcpy(p->buf, b + 2, 6);
	p->len = 6;
	p->want = n;
	p->next_sn = 1;
	queue(p, fc);
	p->st.flow_controls++;
	p->state = LBCPOLL_WAIT_CF;
	p->deadline = now + LBCPOLL_CF_NS;
}

static int
consecutive(struct lbcpoll *p, const struct can_rec *f, int64_t now)
{
	size_t k = (size_t)f->len - 1;

	if ((f->data[0] & 0x0F) != p->next_sn) {
		p->st.seq_errors++; /* a frame lost or out of order: the reply is bad */
		next_group(p, now);
		return 0;
	}
	p->next_sn = (p->next_sn + 1) & 0x0F;
	if (k > p->want - p->len)
		k = p->want - p->len;
	memcpy(p->buf + p->len, f->data + 1, k);
	p->len += k;
	p->deadline = now + LBCPOLL_CF_NS;
	if (p->len < p->want)
		return 0;
	k = p->want;
	p->st.replies++;
	next_group(p, now);
	p->len = k; /* the reply stays readable until the next request */
	return 1;
}

static bool
is_echo(const struct lbcpoll *p, const struct can_rec *f, int64_t now)
{
	if (f->flags & CANF_TX)
		return true;
	return p->last_tx_t != 0 && now - p->last_tx_t < LBCPOLL_ECHO_NS &&
	       f->len == p->last_tx.len && memcmp(f->data, p->last_tx.data, f->len) == 0;
}

static void
foreign(struct lbcpoll *p, int64_t now)
{
	p->st.foreign++;
	if (p->foreign_t == 0 || now - p->foreign_t >= LBCPOLL_BACKOFF_NS)
		p->st.backoffs++;
	p->foreign_t = now;
	abort_cycle(p);
}

static int
reply_frame(struct lbcpoll *p, const struct can_rec *f, int64_t now)
{
	unsigned pci = f->data[0] >> 4;

	if (f->len == 0 || !lbcpoll_busy(p))
		return 0; /* not ours to read: the decoder's passive path has it */
	if (pci == 0) {
		size_t n = f->data[0] & 0x0F;
		if (n == 0 || n + 1 > f->len) {
			p->st.bad_replies++;
			next_group(p, now);
			return 0;
		}
		return single(p, f->data + 1, n, now);
	}
	if (pci == 1) {
		first(p, f, now);
		return 0;
	}
	if (pci == 2 && p->state == LBCPOLL_WAIT_CF)
		return consecutive(p, f, now);
	return 0;
}

int
lbcpoll_rx(struct lbcpoll *p, const struct can_rec *f, int64_t now)
{
	if (f->bus != p->bus || (f->flags & (CANF_EXT | CANF_RTR | CANF_ERR)))
		return 0;
	if (f->id == LBCPOLL_LBC_ID) {
		if (!p->heard || now - p->lbc_t >= LBCPOLL_AWAKE_NS)
			p->awake_since = now;
		p->lbc_t = now;
		p->heard = true;
	} else if (f->id == LBCPOLL_REQ_ID) {
		if (!is_echo(p, f, now))
			foreign(p, now);
	} else if (f->id == LBCPOLL_REPLY_ID)
		return reply_frame(p, f, now);
	return 0;
}

static bool
awake_now(const struct lbcpoll *p, int64_t now, bool awake)
{
	return awake && p->heard && now - p->lbc_t < LBCPOLL_AWAKE_NS;
}

static bool
backing_off(const struct lbcpoll *p, int64_t now)
{
	return p->foreign_t != 0 && now - p->foreign_t < LBCPOLL_BACKOFF_NS;
}

/* When the next cycle may begin (the rate limit, the settling, a tester). */
static int64_t
cycle_due(const struct lbcpoll *p)
{
	int64_t t = p->awake_since + LBCPOLL_SETTLE_NS;

	if (p->cycle_t != 0 && p->cycle_t + p->interval_ns > t)
		t = p->cycle_t + p->interval_ns;
	if (p->foreign_t != 0 && p->foreign_t + LBCPOLL_BACKOFF_NS > t)
		t = p->foreign_t + LBCPOLL_BACKOFF_NS;
	return t;
}

void
lbcpoll_tick(struct lbcpoll *p, int64_t now, bool awake)
{
	if (!awake_now(p, now, awake) || backing_off(p, now)) {
		abort_cycle(p); /* never a frame to a sleeping bus or beside a tester */
		return;
	}
	if (lbcpoll_busy(p) && now >= p->deadline) {
		p->st.timeouts++;
		next_group(p, now);
	}
	if (p->state == LBCPOLL_GAP && now >= p->deadline)
		request(p, now);
	if (p->state == LBCPOLL_IDLE && now >= cycle_due(p) && group_from(p, 0) < LBCPOLL_NGROUPS) {
		p->st.cycles++;
		p->cycle_t = now;
		p->group = group_from(p, 0);
		request(p, now);
	}
}

int64_t
lbcpoll_next_ns(const struct lbcpoll *p, int64_t now)
{
	if (p->state != LBCPOLL_IDLE)
		return p->deadline;
	if (!p->heard || now - p->lbc_t >= LBCPOLL_AWAKE_NS || group_from(p, 0) >= LBCPOLL_NGROUPS)
		return INT64_MAX; /* the next 0x1DB will say when */
	return cycle_due(p);
}

size_t
lbcpoll_take_tx(struct lbcpoll *p, struct can_rec *out, int64_t now)
{
	size_t n = p->ntx;

	for (size_t i = 0; i < n; i++)
		out[i] = p->tx[i];
	if (n > 0) {
		p->last_tx = p->tx[n - 1];
		p->last_tx_t = now;
	}
	p->ntx = 0;
	return n;
}

void
lbcpoll_tx_failed(struct lbcpoll *p, int64_t now)
{
	p->st.tx_errors++;
	abort_cycle(p);
	p->cycle_t = now; /* the next try after an interval, not at once */
}
