/*
 * leafmon-ledger: the ledger's one writer (ledger_worker.h).
 */
#include <stdlib.h>

#include "ledger_worker.h"
#include "log.h"

int
main(int argc, char **argv)
{
	static struct worker w;
	static struct lw lw;

	worker_init(&w, "ledger", argc, argv);
	if (!w.cfg.ledger.enabled) {
		log_info("[ledger] enabled = false: nothing to do");
		return 0;
	}
	if (lw_start(&lw, &w) < 0)
		worker_fail(WORKER_EXIT_START, "cannot start (see above)");
	worker_ready(&w, lw.path);
	return worker_run(&w);
}
