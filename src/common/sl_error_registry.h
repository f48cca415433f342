/*
 * sl_error_registry.h - the registry of startlijn business errors (pure C).
 *
 * Every business error has a stable machine-readable code (lowercase,
 * [a-z0-9_]), an HTTP status in 400..499 (the SQLSTATE is "PT" followed by
 * the status, which PostgREST maps to that HTTP status), a short lowercase
 * message without a trailing period, and a default detail sentence.
 *
 * docs/errors.md lists every code; a unit test keeps the two in step.
 */
#ifndef SL_ERROR_REGISTRY_H
#define SL_ERROR_REGISTRY_H

#include <stddef.h>

typedef struct sl_error_def
{
	const char *code;			/* stable machine-readable code */
	int			http_status;	/* 400..499 */
	const char *message;		/* lowercase, no trailing period */
	const char *detail;			/* default detail: a full sentence */
} sl_error_def;

/* Look up a code; NULL when unknown. */
const sl_error_def *sl_error_lookup(const char *code);

/* The whole registry, for listing and tests. */
const sl_error_def *sl_error_table(size_t *count);

/*
 * Write the five-character SQLSTATE ("PT409") for a definition into out
 * (at least 6 bytes). Returns 0 on success, -1 if the status is out of range.
 */
int			sl_error_sqlstate(const sl_error_def *def, char out[6]);

#endif
