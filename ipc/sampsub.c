/*
 * Gap-free sample delivery. NNG carries samples in the common case; the
 * journal fills any gap: a bus sample ahead of the expected seq is parked
 * while the journal supplies what came before it. Journal reads are bounded
 * per call (SAMPSUB_BATCH) so a long catch-up never starves the caller's loop.
 */
#include "sampsub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bus.h"
#include "journal.h"
#include "log.h"

#define SAMPSUB_BATCH 512

struct sampsub {
	char rundir[256];
	nng_socket sock;
	int fd;
	struct journal *j;
	uint64_t gen;
	uint64_t next;	     /* the seq we deliver next */
	Sample *parked;	     /* from the bus, ahead of next */
	unsigned budget;     /* journal reads left in this round */
	bool catchup;	     /* read the journal up to its head (start, timer) */
	bool live;	     /* the last sample delivered came on the bus */
	ino_t journal_ino;
	struct sampsub_stats st;
	uint8_t buf[JOURNAL_RECORD_MAX];
};

static void
start_at(struct sampsub *s, uint64_t ck_gen, uint64_t ck_seq)
{
	uint64_t oldest = journal_oldest_seq(s->j);
	if (ck_gen == s->gen) {
		s->next = ck_seq + 1;
	} else if (ck_gen == 0) {
		s->next = oldest; /* no checkpoint: everything the journal holds */
	} else if (ck_gen == SAMPSUB_FROM_NOW) {
		s->next = journal_next_seq(s->j);
	} else {
		/* a new journal (reboot, or the old one was unusable): what the
		 * old one held beyond our checkpoint cannot be known, only
		 * counted as a generation change; this one is new to us */
		s->st.generation_changes++;
		log_warnx("journal generation changed (%016llx -> %016llx): samples after seq %llu "
			  "of the old journal are not recoverable",
			  (unsigned long long)ck_gen, (unsigned long long)s->gen,
			  (unsigned long long)ck_seq);
		s->next = oldest;
	}
	if (s->next < oldest) {
		s->st.lost += oldest - s->next;
		log_warnx("journal no longer holds seq %llu..%llu: %llu samples lost",
			  (unsigned long long)s->next, (unsigned long long)oldest - 1,
			  (unsigned long long)(oldest - s->next));
		s->next = oldest;
	}
}

static ino_t
journal_inode(const char *rundir)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/journal.shm", rundir);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

int
sampsub_open(struct sampsub **sp, const char *rundir, uint64_t ck_gen, uint64_t ck_seq)
{
	struct sampsub *s = calloc(1, sizeof(*s));
	char topic = TOPIC_SAMPLE;
	int rv;

	if (s == NULL)
		return -1;
	snprintf(s->rundir, sizeof(s->rundir), "%s", rundir);
	if (journal_open(&s->j, rundir, false) < 0) {
		free(s);
		return -1;
	}
	/* subscribe before reading the journal, so nothing falls between */
	if ((rv = bus_sub_dial(&s->sock, rundir, BUS_SAMPLES, &topic, 1)) != 0 ||
	    (rv = bus_recv_fd(s->sock, &s->fd)) != 0) {
		log_warnx("samples subscription: %s", nng_strerror(rv));
		journal_close(s->j);
		free(s);
		errno = EIO;
		return -1;
	}
	s->gen = journal_generation(s->j);
	s->journal_ino = journal_inode(rundir);
	start_at(s, ck_gen, ck_seq);
	s->catchup = true;
	*sp = s;
	return 0;
}

void
sampsub_close(struct sampsub *s)
{
	if (s == NULL)
		return;
	bus_close(s->sock);
	journal_close(s->j);
	if (s->parked != NULL)
		sampsub_free(s->parked);
	free(s);
}

int
sampsub_fd(const struct sampsub *s)
{
	return s->fd;
}

void
sampsub_free(Sample *m)
{
	leafmon__v1__sample__free_unpacked(m, NULL);
}

/* The journal was replaced under us (supervisor re-created it). */
static void
journal_switch(struct sampsub *s)
{
	struct journal *nj;
	if (journal_open(&nj, s->rundir, false) < 0)
		return;
	if (journal_generation(nj) == s->gen) {
		journal_close(nj);
		return;
	}
	uint64_t old_gen = s->gen, old_next = s->next;
	journal_close(s->j);
	s->j = nj;
	s->gen = journal_generation(nj);
	s->journal_ino = journal_inode(s->rundir);
	start_at(s, old_gen, old_next - 1);
	s->catchup = true;
}

/* Next sample from the journal if one is due, else NULL. */
static Sample *
from_journal(struct sampsub *s)
{
	while (s->budget > 0 && s->next < journal_next_seq(s->j)) {
		size_t len;
		s->budget--;
		int rc = journal_read(s->j, s->next, s->buf, sizeof(s->buf), &len);
		if (rc == -ESTALE) {
			uint64_t oldest = journal_oldest_seq(s->j);
			uint64_t skip = oldest > s->next ? oldest - s->next : 1;
			s->st.lost += skip;
			log_warnx("journal overwrote seq %llu..%llu before it was read: %llu lost",
				  (unsigned long long)s->next,
				  (unsigned long long)(s->next + skip - 1), (unsigned long long)skip);
			s->next += skip;
			continue;
		}
		if (rc < 0)
			return NULL;
		Sample *m = msg_sample_unpack(s->buf, len);
		if (m == NULL || m->seq != s->next) {
			s->st.bad_messages++;
			s->st.lost++;
			s->next++;
			if (m != NULL)
				sampsub_free(m);
			continue;
		}
		s->next++;
		s->st.from_journal++;
		if (s->next >= journal_next_seq(s->j))
			s->catchup = false; /* at the head: the bus takes over */
		return m;
	}
	return NULL;
}

/* Next sample from NNG (in order), parking one that is ahead. */
static Sample *
from_bus(struct sampsub *s)
{
	for (;;) {
		nng_msg *msg;
		if (nng_recvmsg(s->sock, &msg, NNG_FLAG_NONBLOCK) != 0)
			return NULL;
		size_t len = nng_msg_len(msg);
		const uint8_t *body = nng_msg_body(msg);
		Sample *m = len > 1 ? msg_sample_unpack(body + 1, len - 1) : NULL;
		nng_msg_free(msg);
		if (m == NULL) {
			s->st.bad_messages++;
			continue;
		}
		if (m->generation != s->gen) {
			journal_switch(s);
			if (m->generation != s->gen) {
				/* a stale message from before the switch */
				sampsub_free(m);
				continue;
			}
		}
		if (m->seq < s->next) {
			s->st.duplicates++;
			sampsub_free(m);
			continue;
		}
		if (m->seq == s->next) {
			s->next++;
			s->st.from_bus++;
			return m;
		}
		if (s->parked != NULL)
			sampsub_free(s->parked);
		s->parked = m; /* ahead: the journal fills up to it */
		return NULL;
	}
}

Sample *
sampsub_next(struct sampsub *s)
{
	Sample *m;

	s->budget = SAMPSUB_BATCH;
	for (;;) {
		if (s->parked != NULL && s->parked->seq < s->next) {
			s->st.duplicates++;
			sampsub_free(s->parked);
			s->parked = NULL;
		}
		if (s->parked != NULL && s->parked->seq == s->next) {
			m = s->parked;
			s->parked = NULL;
			s->next++;
			s->st.from_bus++;
			s->live = true;
			break;
		}
		/* the journal fills a gap, or catches up after start/timer */
		if (s->parked != NULL || s->catchup) {
			if ((m = from_journal(s)) != NULL) {
				s->live = false;
				break;
			}
			if (s->next >= journal_next_seq(s->j))
				s->catchup = false;
			if (s->parked != NULL || s->budget == 0)
				return NULL; /* budget spent: the caller's timer resumes */
		}
		if ((m = from_bus(s)) != NULL) {
			s->live = true;
			break;
		}
		if (s->parked == NULL)
			return NULL;
	}
	s->st.delivered++;
	return m;
}

void
sampsub_poll_journal(struct sampsub *s)
{
	if (journal_inode(s->rundir) != s->journal_ino)
		journal_switch(s);
	s->catchup = true;
}

bool
sampsub_live(const struct sampsub *s)
{
	return s->live;
}

bool
sampsub_pending(const struct sampsub *s)
{
	return s->parked != NULL || s->next < journal_next_seq(s->j);
}

const struct sampsub_stats *
sampsub_stats(const struct sampsub *s)
{
	return &s->st;
}

uint64_t
sampsub_generation(const struct sampsub *s)
{
	return s->gen;
}

uint64_t
sampsub_last_seq(const struct sampsub *s)
{
	return s->next - 1;
}
