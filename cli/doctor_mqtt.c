/*
 * leafmon doctor's MQTT checks: the broker reachable, its certificate
 * verified (mqtts), the credentials accepted (one real CONNECT with the
 * worker's settings, answered by CONNACK), and the worker's ledger.
 */
#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "status.h"
#include "util.h"

#define CHECK_REACH "mqtt reachable"
#define CHECK_TLS "mqtt tls"
#define CHECK_CRED "mqtt credentials"
#define CHECK_LEDGER "mqtt ledger"
#define DOCTOR_WAIT_MS 5000

struct probe {
	int connack; /* -1: none yet */
	char tls_error[256];
};

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	((struct probe *)arg)->connack = rc;
}

static void
on_log(struct mosquitto *m, void *arg, int level, const char *text)
{
	struct probe *p = arg;
	if ((level & MOSQ_LOG_ERR) && p->tls_error[0] == '\0' && strstr(text, "SSL") != NULL)
		snprintf(p->tls_error, sizeof(p->tls_error), "%s", text);
}

/* mqtt[s]://host[:port] (the config checked it) */
static void
split_url(const char *url, char *host, size_t cap, int *port, bool *tls)
{
	*tls = strncmp(url, "mqtts://", 8) == 0;
	const char *h = strstr(url, "://") + 3;
	bool v6 = h[0] == '[';
	const char *end = v6 ? strchr(h, ']') : h + strcspn(h, ":/");
	size_t n = (size_t)(end - h) - v6;
	snprintf(host, cap, "%.*s", (int)n, h + v6);
	const char *colon = strchr(end, ':');
	*port = colon != NULL ? atoi(colon + 1) : *tls ? 8883 : 1883;
}

static struct mosquitto *
client_for(const struct config *cfg, struct probe *p, bool tls)
{
	struct mosquitto *m = mosquitto_new(NULL, true, p);
	const char *ca = cfg->mqtt.ca_file;

	if (m == NULL)
		return NULL;
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_log_callback_set(m, on_log);
	if (cfg->mqtt.username[0] != '\0')
		mosquitto_username_pw_set(m, cfg->mqtt.username,
					  cfg->mqtt.password[0] ? cfg->mqtt.password : NULL);
	if (tls && ca[0] != '\0')
		mosquitto_tls_set(m, ca, NULL, NULL, NULL, NULL);
	else if (tls) {
		mosquitto_int_option(m, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
		mosquitto_tls_set(m, NULL, "/etc/ssl/certs", NULL, NULL, NULL);
	}
	return m;
}

static bool
loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
	       strcmp(host, "::1") == 0;
}

/* After the attempt: the TCP connection, then TLS (the handshake may end in
 * mosquitto_connect or in the loop after it: either failing is TLS's). */
static bool
report_connect(struct doctor *d, const char *where, bool tls, int rc, int lrc,
	       const struct probe *p, bool clear_password)
{
	if (rc == MOSQ_ERR_ERRNO || rc == MOSQ_ERR_EAI) {
		doctor_report(d, DOC_FAIL, CHECK_REACH,
			      "is the broker up, and this the right host and port?", "%s: %s",
			      where,
			      rc == MOSQ_ERR_ERRNO ? strerror(errno) : "host name not found");
		return false;
	}
	doctor_report(d, DOC_OK, CHECK_REACH, NULL, "%s answers", where);
	bool tls_failed = tls && (rc == MOSQ_ERR_TLS || lrc == MOSQ_ERR_TLS || p->tls_error[0]);
	if (!tls && clear_password)
		doctor_report(d, DOC_WARN, CHECK_TLS, "use mqtts:// (the broker's TLS listener)",
			      "mqtt:// to another machine: the password crosses the network in the "
			      "clear");
	else if (!tls)
		doctor_report(d, DOC_SKIP, CHECK_TLS, NULL, "mqtt:// (no TLS)");
	else if (tls_failed)
		doctor_report(d, DOC_FAIL, CHECK_TLS,
			      "set ca_file to the CA that signed the broker's certificate, and use "
			      "the name the certificate is for",
			      "the broker's certificate could not be verified: %s",
			      p->tls_error[0] ? p->tls_error : mosquitto_strerror(MOSQ_ERR_TLS));
	else
		doctor_report(d, DOC_OK, CHECK_TLS, NULL, "certificate verified for %s", where);
	if (tls_failed)
		doctor_report(d, DOC_SKIP, CHECK_CRED, NULL, "not tried: TLS failed");
	return !tls_failed;
}

static void
report_connack(struct doctor *d, const struct config *cfg, int connack)
{
	const char *who = cfg->mqtt.username[0] ? cfg->mqtt.username : "(anonymous)";

	if (connack == 0)
		doctor_report(d, DOC_OK, CHECK_CRED, NULL, "accepted as %s", who);
	else if (connack < 0)
		doctor_report(d, DOC_FAIL, CHECK_CRED, "is it an MQTT broker?",
			      "no CONNACK in %d s", DOCTOR_WAIT_MS / 1000);
	else
		doctor_report(d, DOC_FAIL, CHECK_CRED,
			      "check username and password_file (or MQTT_PASSWORD)",
			      "refused for %s: %s (CONNACK %d)", who,
			      mosquitto_connack_string(connack), connack);
}

static void
check_broker(struct doctor *d, const struct config *cfg)
{
	char host[256], where[300];
	struct probe p = {.connack = -1};
	int port, rc, lrc = MOSQ_ERR_SUCCESS;
	bool tls;

	split_url(cfg->mqtt.url, host, sizeof(host), &port, &tls);
	snprintf(where, sizeof(where), "%s:%d", host, port);
	struct mosquitto *m = client_for(cfg, &p, tls);
	if (m == NULL) {
		doctor_report(d, DOC_FAIL, CHECK_REACH, NULL, "out of memory");
		return;
	}
	rc = mosquitto_connect(m, host, port, 10);
	if (rc == MOSQ_ERR_SUCCESS) {
		int64_t until = now_mono_ns() + (int64_t)DOCTOR_WAIT_MS * NSEC_PER_MSEC;
		while (p.connack < 0 && now_mono_ns() < until &&
		       (lrc = mosquitto_loop(m, 100, 1)) == MOSQ_ERR_SUCCESS)
			;
	}
	if (report_connect(d, where, tls, rc, lrc, &p,
			   cfg->mqtt.password[0] != '\0' && !loopback(host))) {
		if (rc != MOSQ_ERR_SUCCESS)
			doctor_report(d, DOC_FAIL, CHECK_CRED, NULL, "connect: %s",
				      mosquitto_strerror(rc));
		else if (p.connack < 0 && lrc != MOSQ_ERR_SUCCESS)
			doctor_report(d, DOC_FAIL, CHECK_CRED, "see the broker's log",
				      "the connection ended before a CONNACK: %s",
				      mosquitto_strerror(lrc));
		else
			report_connack(d, cfg, p.connack);
	}
	if (rc == MOSQ_ERR_SUCCESS)
		mosquitto_disconnect(m);
	mosquitto_destroy(m);
}

static void
check_ledger(struct doctor *d)
{
	const Status *st = doctor_status(d);
	const WorkerStatus *ws = st ? status_worker(st, "mqtt") : NULL;
	if (ws == NULL || ws->ledger == NULL) {
		doctor_report(d, DOC_SKIP, CHECK_LEDGER, NULL,
			      "no ledger (leafmond or the mqtt worker not running)");
		return;
	}
	const Ledger *l = ws->ledger;
	char ago[48] = "never";
	if (l->last_success > 0)
		snprintf(ago, sizeof(ago), "%lld s ago", (long long)(time(NULL) - l->last_success));
	doctor_report(d, l->dropped > 0 ? DOC_WARN : DOC_OK, CHECK_LEDGER,
		      "the queue keeps the newest sessions: bring the broker back sooner",
		      "%llu session events queued, last acknowledgement %s, %llu dropped",
		      (unsigned long long)l->queued_records, ago, (unsigned long long)l->dropped);
}

void
doctor_mqtt_checks(struct doctor *d)
{
	const struct config *cfg = &doctor_cli(d)->cfg;

	if (!cfg->mqtt.enabled) {
		doctor_report(d, DOC_SKIP, "mqtt", NULL, "disabled in the config");
		return;
	}
	mosquitto_lib_init();
	check_broker(d, cfg);
	mosquitto_lib_cleanup();
	check_ledger(d);
}
