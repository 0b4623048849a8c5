/*
 * Static files of the dashboard from the web root, sent with sendfile
 * (MHD_create_response_from_fd). ETags (size and mtime) let a phone
 * revalidate instead of downloading again. The login page and what it
 * needs are the only files served without a login.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "web.h"
#include "webpath.h"

bool
static_public(const char *url)
{
	static const char *const open_files[] = {"/login.html", "/login.js", "/style.css",
						 "/favicon.svg"};
	for (size_t i = 0; i < ARRAY_LEN(open_files); i++)
		if (strcmp(url, open_files[i]) == 0)
			return true;
	return false;
}

static enum MHD_Result
not_modified(struct wreq *r, const char *etag)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "ETag", etag);
	web_headers(resp, false);
	return web_send_response(r, 304, resp);
}

enum MHD_Result
static_serve(struct wreq *r)
{
	char path[PATH_MAX], etag[64];
	struct stat st;
	if (webpath_resolve(r->web->root, r->url, path, sizeof(path)) < 0)
		return web_send_error(r, 404, "not found");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return web_send_error(r, 404, "not found");
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)st.st_size,
		 (unsigned long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000);
	const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		close(fd);
		return not_modified(r, etag);
	}
	struct MHD_Response *resp = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);
	if (resp == NULL) {
		close(fd);
		return MHD_NO;
	}
	const char *mime = webpath_mime(path);
	MHD_add_response_header(resp, "Content-Type", mime);
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "ETag", etag);
	web_headers(resp, strncmp(mime, "text/html", 9) == 0);
	return web_send_response(r, 200, resp);
}
