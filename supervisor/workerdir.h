/*
 * Where leafmond finds leafmon-<worker>: the configured worker_dir; else
 * beside its own executable, as a build tree lays them out (build/supervisor
 * /leafmond, build/libexec/leafmon-*) or an install moved to another prefix
 * (PREFIX/sbin, PREFIX/libexec/leafmon); else the installed libexec dir.
 */
#ifndef LEAFMON_WORKERDIR_H
#define LEAFMON_WORKERDIR_H

#include <stddef.h>

enum workerdir_origin { WD_CONFIGURED, WD_BESIDE, WD_INSTALLED };

/*
 * configured: [supervisor] worker_dir ("" = not set); exe: the running
 * leafmond's path (/proc/self/exe; NULL or "" when unknown). A directory
 * beside exe counts when leafmon-can in it is executable. The directory goes
 * into out; returns its origin.
 */
enum workerdir_origin workerdir_find(const char *configured, const char *exe, char *out,
				     size_t len);
/* "worker_dir", "beside leafmond", "installed" */
const char *workerdir_origin_name(enum workerdir_origin o);
/* The running executable's path into out (readlink /proc/self/exe); "" on failure. */
void workerdir_self_exe(char *out, size_t len);

#endif
