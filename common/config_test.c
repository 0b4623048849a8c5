/*
 * Config: golden files (config/tests/N.conf -> N.out: the effective config,
 * or the error), environment overrides, reload diffs. @DIR@ in a .conf is
 * the tests directory, so token files can be referenced by absolute path.
 * LEAFMON_UPDATE_GOLDEN=1 rewrites the .out files.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "canframe.h"
#include "config.h"
#include "t.h"
#include "util.h"

static const char *const env_vars[] = {
    "CAN_INTERFACE",	"INFLUX_URL",	   "INFLUX_ORG",	 "INFLUX_BUCKET",
    "INFLUX_TOKEN",	"INFLUX_CLOUD_URL", "INFLUX_CLOUD_ORG", "INFLUX_CLOUD_BUCKET",
    "INFLUX_CLOUD_TOKEN", "SYNC_INTERVAL_SECONDS", "WEB_PORT", "LEAFMON_CONFIG"};

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

static void
test_config_golden_files(void)
{
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s", t_src("config/tests"));
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	char *names[256];
	int n = 0;
	for (struct dirent *de; (de = readdir(d)) != NULL && n < 256;) {
		size_t len = strlen(de->d_name);
		if (len > 5 && strcmp(de->d_name + len - 5, ".conf") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	CHECK_INT(n, >=, 10);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_names);
	/* token files must be private for a clean golden */
	char tokpath[1100];
	snprintf(tokpath, sizeof(tokpath), "%s/cloud.token", dir);
	chmod(tokpath, 0600);

	int bad = 0;
	for (int i = 0; i < n; i++) {
		char path[1400], outpath[1400];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		snprintf(outpath, sizeof(outpath), "%.*s.out", (int)(strlen(path) - 5), path);
		char *raw = file_read_str(path, 1 << 20, NULL);
		CHECK(raw != NULL);
		char *text = replace_all(raw, "@DIR@", dir);
		env_clear();
		struct config cfg;
		char err[1024];
		struct buf got;
		buf_init(&got);
		if (config_load_string(&cfg, text, names[i], err, sizeof(err)) == 0) {
			char *dump = config_dump(&cfg);
			buf_puts(&got, dump);
			free(dump);
		} else {
			buf_printf(&got, "error: %s\n", err);
		}
		char *norm1 = replace_all(buf_str(&got), dir, "@DIR@");
		char *norm = replace_all(norm1, config_builtin_worker_dir(), "@LIBEXEC@");
		free(norm1);
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
		buf_free(&got);
		free(text);
		free(raw);
		free(names[i]);
	}
	CHECK_INT(bad, ==, 0);
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

T_MAIN(T(test_config_example_lists_every_key), T(test_config_golden_files), T(test_config_env_overrides), T(test_config_diff_sections),
       T(test_config_missing_file), T(test_config_source_lists))
