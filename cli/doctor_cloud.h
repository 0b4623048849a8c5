/*
 * leafmon doctor's cloud checks (doctor_cloud.c): what a write answer says
 * about the token, as a pure function (tested alone).
 */
#ifndef LEAFMON_DOCTOR_CLOUD_H
#define LEAFMON_DOCTOR_CLOUD_H

enum dc_token {
	DC_TOKEN_OK, /* 2xx, or the server got past authorization ("writing requires points") */
	DC_TOKEN_REFUSED, /* 401, 403, or a proxy's refusal of the token */
	DC_NOT_FOUND,	  /* 404: org, bucket or database unknown */
	DC_RATE_LIMITED,  /* 429, 503: the server is there, try again later */
	DC_OTHER,	  /* anything else: show the server's text */
};

/* An empty write's answer: status and the server's error text. */
enum dc_token doctor_cloud_token_verdict(int status, const char *text);

#endif
