/*
 * Control-socket helper thread. Jobs move todo -> (thread) -> done under
 * one mutex; the thread writes the eventfd after each, and the loop side
 * drains `done` and runs callbacks. A cancelled job stays in its list with
 * fn = NULL until it comes out, so the thread never touches freed memory.
 */
#include "ctlq.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bus.h"
#include "log.h"
#include "status.h"
#include "util.h"

enum job_op { OP_STATUS, OP_RESTART };

struct ctlq_job {
	enum job_op op;
	char worker[16];
	ctlq_fn fn;
	void *arg;
	int rv;
	ControlResponse *resp;
	struct ctlq_job *next;
};

struct ctlq {
	struct loop *l;
	char rundir[256];
	int efd;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool quit;
	int njobs; /* queued + running + done, for the bound */
	struct ctlq_job *todo, *done;
};

static void
push(struct ctlq_job **list, struct ctlq_job *j)
{
	j->next = NULL;
	while (*list != NULL)
		list = &(*list)->next;
	*list = j;
}

static int
restart_call(const char *rundir, const char *worker, ControlResponse **out)
{
	ControlRequest req = LEAFMON__V1__CONTROL_REQUEST__INIT;
	Leafmon__V1__WorkerRequest wr = LEAFMON__V1__WORKER_REQUEST__INIT;
	uint8_t *resp;
	size_t len;
	wr.worker = (char *)worker;
	req.op_case = LEAFMON__V1__CONTROL_REQUEST__OP_RESTART;
	req.restart = &wr;
	int rv = bus_control_call(rundir, &req.base, &resp, &len, CTLQ_TIMEOUT_MS);
	if (rv < 0)
		return rv;
	*out = msg_control_response_unpack(resp, len);
	free(resp);
	return *out != NULL ? 0 : -NNG_EPROTO;
}

static void *
thread_main(void *arg)
{
	struct ctlq *q = arg;
	uint64_t one = 1;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->todo == NULL && !q->quit)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->quit)
			break;
		struct ctlq_job *j = q->todo;
		q->todo = j->next;
		pthread_mutex_unlock(&q->mu);
		j->resp = NULL;
		if (j->op == OP_STATUS)
			j->rv = status_fetch(q->rundir, &j->resp, CTLQ_TIMEOUT_MS);
		else
			j->rv = restart_call(q->rundir, j->worker, &j->resp);
		pthread_mutex_lock(&q->mu);
		push(&q->done, j);
		if (write(q->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("web: control eventfd");
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static void
job_finish(struct ctlq_job *j)
{
	if (j->fn != NULL)
		j->fn(j->arg, j->rv, j->resp);
	else if (j->resp != NULL)
		leafmon__v1__control_response__free_unpacked(j->resp, NULL);
	free(j);
}

static void
on_event(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct ctlq *q = arg;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("web: control eventfd read");
	pthread_mutex_lock(&q->mu);
	struct ctlq_job *list = q->done;
	q->done = NULL;
	pthread_mutex_unlock(&q->mu);
	while (list != NULL) {
		struct ctlq_job *next = list->next;
		pthread_mutex_lock(&q->mu);
		q->njobs--;
		pthread_mutex_unlock(&q->mu);
		job_finish(list);
		list = next;
	}
}

int
ctlq_new(struct ctlq **qp, struct loop *l, const char *rundir)
{
	struct ctlq *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -1;
	q->l = l;
	snprintf(q->rundir, sizeof(q->rundir), "%s", rundir);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0 || loop_add_fd(l, q->efd, EPOLLIN, on_event, q) < 0 ||
	    pthread_create(&q->thread, NULL, thread_main, q) != 0) {
		if (q->efd >= 0)
			close(q->efd);
		free(q);
		return -1;
	}
	*qp = q;
	return 0;
}

static struct ctlq_job *
submit(struct ctlq *q, enum job_op op, const char *worker, ctlq_fn fn, void *arg)
{
	struct ctlq_job *j;
	pthread_mutex_lock(&q->mu);
	if (q->njobs >= CTLQ_MAX_JOBS || (j = calloc(1, sizeof(*j))) == NULL) {
		pthread_mutex_unlock(&q->mu);
		return NULL;
	}
	j->op = op;
	snprintf(j->worker, sizeof(j->worker), "%s", worker ? worker : "");
	j->fn = fn;
	j->arg = arg;
	q->njobs++;
	push(&q->todo, j);
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return j;
}

struct ctlq_job *
ctlq_status(struct ctlq *q, ctlq_fn fn, void *arg)
{
	return submit(q, OP_STATUS, NULL, fn, arg);
}

struct ctlq_job *
ctlq_restart(struct ctlq *q, const char *worker, ctlq_fn fn, void *arg)
{
	return submit(q, OP_RESTART, worker, fn, arg);
}

void
ctlq_cancel(struct ctlq *q, struct ctlq_job *j)
{
	pthread_mutex_lock(&q->mu);
	j->fn = NULL;
	pthread_mutex_unlock(&q->mu);
}

static void
free_list(struct ctlq_job *j)
{
	while (j != NULL) {
		struct ctlq_job *next = j->next;
		j->fn = NULL;
		job_finish(j);
		j = next;
	}
}

void
ctlq_free(struct ctlq *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->quit = true;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	free_list(q->todo);
	free_list(q->done);
	loop_del_fd(q->l, q->efd);
	close(q->efd);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
}
