/*
 * Config: golden files (config/tests/N.conf -> N.out: the effective config,
 * or the error), environment overrides, reload diffs. @DIR@ in a .conf is
 * the tests directory, so token files can be referenced by absolute path.
 * LEAFMON_UPDATE_GOLDEN=1 rewrites the .out files.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canframe.h"
#include "config.h"
#include "t.h"
#include "util.h"

static const char *const env_vars[] = {
    "CAN_INTERFACE",	"INFLUX_URL",	   "INFLUX_ORG",	 "INFLUX_BUCKET",
    "INFLUX_TOKEN",	"INFLUX_CLOUD_URL", "INFLUX_CLOUD_ORG", "INFLUX_CLOUD_BUCKET",
    "INFLUX_CLOUD_TOKEN", "SYNC_INTERVAL_SECONDS", "WEB_PORT", "LEAFMON_CONFIG",
    "MQTT_URL",		"MQTT_USERNAME",   "MQTT_PASSWORD"};

static void
env_clear(void)
{
	for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
		unsetenv(env_vars[i]);
}

static char *
replace_all(const char *s, const char *from, const char *to)
{
	struct buf b;
	buf_init(&b);
	size_t fl = strlen(from);
	for (const char *p = s; *p;) {
		if (strncmp(p, from, fl) == 0) {
			buf_puts(&b, to);
			p += fl;
		} else {
			buf_putc(&b, *p++);
		}
	}
	buf_str(&b);
	return b.p;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One case as leafmond meets it: a file (its @DIR@ replaced) in a scratch
 * directory, or for NAME.link a symlink NAME.conf to the target the .link
 * names, loaded by its bare name; the effective config or "error: ..." */
static char *
golden_one(const char *dir, const char *scratch, const char *name)
{
	char path[1400], conf[300], *raw, *text = NULL;
	size_t len, nlen = strlen(name);
	struct config cfg;
	char err[1024];
	struct buf got;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(conf, sizeof(conf), "%.*s.conf", (int)(nlen - 5), name);
	raw = file_read_str(path, 1 << 20, &len);
	CHECK(raw != NULL && chdir(scratch) == 0);
	unlink(conf);
	if (strcmp(name + nlen - 5, ".link") == 0) {
		raw[strcspn(raw, "\n")] = '\0';
		CHECK(symlink(raw, conf) == 0);
	} else if (memchr(raw, '\0', len) != NULL) { /* binary: as it is */
		CHECK(file_write_atomic(conf, raw, len, 0600) == 0);
	} else {
		text = replace_all(raw, "@DIR@", dir);
		CHECK(file_write_atomic(conf, text, strlen(text), 0600) == 0);
	}
	env_clear();
	buf_init(&got);
	if (config_load(&cfg, conf, false, err, sizeof(err)) == 0) {
		char *dump = config_dump(&cfg);
		buf_puts(&got, dump);
		free(dump);
	} else {
		buf_printf(&got, "error: %s\n", err);
	}
	char *norm1 = replace_all(buf_str(&got), dir, "@DIR@");
	char *norm = replace_all(norm1, config_builtin_worker_dir(), "@LIBEXEC@");
	free(norm1);
	buf_free(&got);
	free(text);
	free(raw);
	return norm;
}

static bool
golden_case(const char *name)
{
	size_t len = strlen(name);
	return len > 5 &&
	       (strcmp(name + len - 5, ".conf") == 0 || strcmp(name + len - 5, ".link") == 0);
}

static void
test_config_golden_files(void)
{
	char dir[1024], here[1024];
	snprintf(dir, sizeof(dir), "%s", t_src("config/tests"));
	DIR *d = opendir(dir);
	CHECK(d != NULL && getcwd(here, sizeof(here)) != NULL);
	char *names[256], *scratch = t_tmpdir();
	int n = 0;
	for (struct dirent *de; (de = readdir(d)) != NULL && n < 256;)
		if (golden_case(de->d_name))
			names[n++] = strdup(de->d_name);
	closedir(d);
	CHECK_INT(n, >=, 10);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_names);
	/* token files must be private for a clean golden */
	char tokpath[1100];
	snprintf(tokpath, sizeof(tokpath), "%s/cloud.token", dir);
	chmod(tokpath, 0600);

	int bad = 0;
	for (int i = 0; i < n; i++) {
		char outpath[1400];
		snprintf(outpath, sizeof(outpath), "%s/%.*s.out", dir, (int)(strlen(names[i]) - 5),
			 names[i]);
		char *norm = golden_one(dir, scratch, names[i]);
		if (getenv("LEAFMON_UPDATE_GOLDEN") != NULL) {
			file_write_atomic(outpath, norm, strlen(norm), 0644);
		} else {
			char *want = file_read_str(outpath, 1 << 20, NULL);
			if (want == NULL || strcmp(want, norm) != 0) {
				printf("--- %s: golden mismatch\n--- got:\n%s--- want:\n%s\n", names[i],
				       norm, want ? want : "(missing)\n");
				bad++;
			}
			free(want);
		}
		free(norm);
		free(names[i]);
	}
	CHECK(chdir(here) == 0);
	CHECK_INT(bad, ==, 0);
}

/* Beyond the golden files: a FIFO (which would block), a directory and a
 * file over the 1 MiB bound are refused with the reason; control bytes in
 * an error are escaped; the memory parser rejects a NUL. */
static void
test_config_refuses_what_is_not_a_config(void)
{
	struct config cfg;
	char err[1024], path[600];
	char *dir = t_tmpdir();

	env_clear();
	snprintf(path, sizeof(path), "%s/fifo.conf", dir);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK_INT(config_load(&cfg, path, false, err, sizeof(err)), ==, -1);
	CHECK(strstr(err, "fifo.conf: not a regular file") != NULL);
	CHECK_INT(config_load(&cfg, dir, true, err, sizeof(err)), ==, -1);
	CHECK(strstr(err, ": not a regular file") != NULL);
	snprintf(path, sizeof(path), "%s/big.conf", dir);
	char *big = malloc((1 << 20) + 2);
	CHECK(big != NULL);
	memset(big, ';', (1 << 20) + 1);
	big[(1 << 20) + 1] = '\n';
	CHECK(file_write_atomic(path, big, (1 << 20) + 2, 0600) == 0);
	free(big);
	CHECK_INT(config_load(&cfg, path, false, err, sizeof(err)), ==, -1);
	CHECK(strstr(err, "big.conf: larger than 1 MiB") != NULL);
	/* a key with a terminal escape in it: shown as \x1b, never raw */
	CHECK_INT(config_load_string(&cfg, "[web]\n\x1b[2Jport = 1\n", "t.conf", err, sizeof(err)),
		  ==, -1);
	CHECK_STR(err, "t.conf:2: unknown key '\\x1b[2Jport' in [web]");
	CHECK_INT(config_load_mem(&cfg, "[web]\nport = 80\0junk\n", 22, "t.conf", err, sizeof(err)),
		  ==, -1);
	CHECK_STR(err, "t.conf:2: a NUL byte: this is not a text file");
	/* the CLI's fallback reads no further than that either */
	config_peek_dirs(&cfg, "/dev/zero");
	CHECK_STR(cfg.sup.rundir, "");
}

/* Addresses and URLs are checked when the file loads, as the workers will
 * use them. */
static void
test_config_addresses_and_urls(void)
{
	static const char *const good[] = {
	    "[web]\nbind = 127.0.0.1\n", "[web]\nbind = ::\n", "[web]\nbind = fe80::1\n",
	    "[influx]\nurl = http://[::1]:8086\n", "[influx]\nurl = http://10.0.0.2:8086/\n",
	    "[influx]\nurl = https://eu-central-1-1.aws.cloud2.influxdata.com\n",
	    "[influx]\nurl = http://influx.local:8086/base?x=1\n"};
	static const char *const bad[][2] = {
	    {"[web]\nbind = localhost\n", "is not an IPv4 or IPv6 address"},
	    {"[web]\nbind = 300.1.1.1\n", "is not an IPv4 or IPv6 address"},
	    {"[web]\nbind = [::1]\n", "is not an IPv4 or IPv6 address"},
	    {"[influx]\nurl = http://host:\n", "has a bad port"},
	    {"[influx]\nurl = http://host:0/\n", "has a bad port"},
	    {"[influx]\nurl = http://[::1]x\n", "has a bad port"},
	    {"[influx]\nurl = http://[::zz]:1\n", "has a bad [IPv6] address"},
	    {"[influx]\nurl = http://user:pw@host/\n", "has credentials in it"},
	    {"[influx]\nurl = http://ho$t/\n", "has a bad host name"},
	    {"[influx]\nurl = http:///x\n", "has no host"}};
	struct config cfg;
	char err[512];

	env_clear();
	for (size_t i = 0; i < ARRAY_LEN(good); i++)
		CHECK_INT(config_load_string(&cfg, good[i], "t.conf", err, sizeof(err)), ==, 0);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		CHECK_INT(config_load_string(&cfg, bad[i][0], "t.conf", err, sizeof(err)), ==, -1);
		if (strstr(err, bad[i][1]) == NULL || !str_starts(err, "t.conf:2: "))
			t_fail(__FILE__, __LINE__, "%s: %s", bad[i][0], err);
	}
}

static void
test_config_env_overrides(void)
{
	struct config cfg;
	char err[512];
	env_clear();
	setenv("CAN_INTERFACE", "can1", 1);
	setenv("WEB_PORT", "8888", 1);
	setenv("SYNC_INTERVAL_SECONDS", "600", 1);
	setenv("INFLUX_URL", "http://10.0.0.2:8086", 1);
	setenv("INFLUX_TOKEN", "abc123", 1);
	CHECK_INT(config_load_string(&cfg, "[web]\nport = 9000\n", "t.conf", err, sizeof(err)), ==, 0);
	CHECK_STR(cfg.can.source, "socketcan:can1");
	CHECK_INT(cfg.can.nsrc, ==, 1);
	CHECK_STR(cfg.can.src[0].path, "can1");
	CHECK_INT(cfg.web.port, ==, 8888); /* environment wins over the file */
	CHECK_INT(cfg.cloud.sync_interval_s, ==, 600);
	CHECK_STR(cfg.influx.url, "http://10.0.0.2:8086");
	CHECK_STR(cfg.influx.token, "abc123");
	char *dump = config_dump(&cfg);
	CHECK(strstr(dump, "abc123") == NULL);
	CHECK(strstr(dump, "environment INFLUX_TOKEN") != NULL);
	free(dump);

	setenv("WEB_PORT", "eighty", 1);
	CHECK_INT(config_load_string(&cfg, "", "t.conf", err, sizeof(err)), ==, -1);
	CHECK_STR(err, "environment WEB_PORT: port: 'eighty' is not an integer from 0 to 65535");
	env_clear();

	/* [mqtt]: the URL, the user and the password itself (over password_file) */
	setenv("MQTT_URL", "mqtts://broker.lan:8883", 1);
	setenv("MQTT_USERNAME", "leaf", 1);
	setenv("MQTT_PASSWORD", "s3cret pass", 1);
	CHECK_INT(config_load_string(&cfg, "[mqtt]\nenabled = true\npassword_file = /nonexistent\n",
				     "t.conf", err, sizeof(err)),
		  ==, 0);
	CHECK_STR(cfg.mqtt.url, "mqtts://broker.lan:8883");
	CHECK_STR(cfg.mqtt.username, "leaf");
	CHECK_STR(cfg.mqtt.password, "s3cret pass");
	dump = config_dump(&cfg);
	CHECK(strstr(dump, "s3cret") == NULL);
	CHECK(strstr(dump, "; password: set from environment MQTT_PASSWORD (masked)") != NULL);
	free(dump);
	setenv("MQTT_URL", "http://broker.lan", 1);
	CHECK_INT(config_load_string(&cfg, "", "t.conf", err, sizeof(err)), ==, -1);
	CHECK_STR(err, "environment MQTT_URL: url: 'http://broker.lan' is not an mqtt:// or "
		       "mqtts:// URL");
	env_clear();
}

static void
test_config_diff_sections(void)
{
	struct config a, b;
	char err[512];
	env_clear();
	CHECK_INT(config_load_string(&a, "[can]\nsource = sim\n", "a", err, sizeof(err)), ==, 0);
	CHECK_INT(config_load_string(&b, "[can]\nsource = sim\n[web]\nport = 81\n", "b", err,
				     sizeof(err)),
		  ==, 0);
	CHECK_INT(config_diff(&a, &b), ==, 1u << SEC_WEB);
	CHECK_INT(config_diff(&a, &a), ==, 0);
}

static void
test_config_missing_file(void)
{
	struct config cfg;
	char err[512];
	env_clear();
	CHECK_INT(config_load(&cfg, "/nonexistent/leafmon.conf", false, err, sizeof(err)), ==, -1);
	CHECK_STR(err, "/nonexistent/leafmon.conf: No such file or directory");
	CHECK_INT(config_load(&cfg, "/nonexistent/leafmon.conf", true, err, sizeof(err)), ==, 0);
	CHECK_INT(cfg.web.port, ==, 8080);
}

static void
test_config_source_lists(void)
{
	struct src_spec sp[SRC_MAX];
	int n;
	char err[256];
	CHECK_INT(srcspec_parse_list("socketcan:can0@ev, socketcan:can1@car", sp, SRC_MAX, &n, err,
				     sizeof(err)),
		  ==, 0);
	CHECK_INT(n, ==, 2);
	CHECK_INT(sp[1].bus, ==, 1);
	CHECK_INT(srcspec_parse_list("replay:/x/y.log,speed=0,loop,sim@qc", sp, SRC_MAX, &n, err,
				     sizeof(err)),
		  ==, 0);
	CHECK_INT(n, ==, 2);
	CHECK_DBL(sp[0].speed, 0, 0);
	CHECK(sp[0].loop);
	CHECK_INT(sp[1].kind, ==, SRC_SIM);
	CHECK_INT(sp[1].bus, ==, 2);
	CHECK_INT(srcspec_parse("replay:/x,speed=fast", sp, err, sizeof(err)), ==, -1);
	CHECK_STR(err, "replay speed 'fast' is not a number from 0 to 10000");
	CHECK_INT(srcspec_parse("slcan:/dev/ttyACM0,bitrate=250000@car", sp, err, sizeof(err)), ==, 0);
	CHECK_INT(sp[0].bitrate, ==, 250000);
	CHECK_INT(srcspec_parse("vcan0", sp, err, sizeof(err)), ==, -1);
	CHECK_INT(srcspec_parse_list("sim,scenario=day@car, replay:/x", sp, SRC_MAX, &n, err,
				     sizeof(err)),
		  ==, 0);
	CHECK_INT(n, ==, 2);
	CHECK_INT(sp[0].scenario, ==, 1);
	CHECK_INT(sp[0].bus, ==, BUS_CAR);
	CHECK_INT(srcspec_parse("sim,scenario=week", sp, err, sizeof(err)), ==, -1);
	CHECK_STR(err, "sim scenario 'week' is not cycle or day");
}

/* The shipped example parses, and it and the design document list every key
 * the table knows. */
static void
test_config_example_lists_every_key(void)
{
	struct config cfg;
	char err[512];
	env_clear();
	char *text = file_read_str(t_src("config/leafmon.conf"), 1 << 20, NULL);
	char *design = file_read_str(t_src("docs/DESIGN.md"), 1 << 22, NULL);
	CHECK(text != NULL && design != NULL);
	CHECK_INT(config_load_string(&cfg, text, "leafmon.conf", err, sizeof(err)), ==, 0);
	char *dump = config_dump(&cfg);
	int missing = 0;
	for (char *line = strtok(dump, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char key[80], want[96];
		if (line[0] == ';' || line[0] == '[' || sscanf(line, "%79s =", key) != 1)
			continue;
		snprintf(want, sizeof(want), "\n%s =", key);
		if (strstr(text, want) == NULL) {
			printf("     key %s is not in config/leafmon.conf\n", key);
			missing++;
		}
		if (strstr(design, want) == NULL) {
			printf("     key %s is not in docs/DESIGN.md\n", key);
			missing++;
		}
	}
	CHECK_INT(missing, ==, 0);
	free(dump);
	free(design);
	free(text);
}

T_MAIN(T(test_config_example_lists_every_key), T(test_config_golden_files),
       T(test_config_refuses_what_is_not_a_config), T(test_config_addresses_and_urls), T(test_config_env_overrides), T(test_config_diff_sections),
       T(test_config_missing_file), T(test_config_source_lists))
