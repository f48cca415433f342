/*
 * sl_jsontext.h - small edits of JSON text (pure C, no postgres.h).
 */
#ifndef SL_JSONTEXT_H
#define SL_JSONTEXT_H

#include <stddef.h>

/*
 * Replace every \u0000 escape of a JSON text in place by \ufffd (the
 * replacement character), which has the same length. PostgreSQL's jsonb
 * cannot hold U+0000, so a signed webhook whose body carries one (in
 * metadata a customer typed) could not be read at all. Escapes are read
 * pairwise, so an escaped backslash followed by "u0000" is left alone.
 * Safe on any bytes (never reads past len); returns the number replaced.
 */
size_t		sl_json_mask_nul_escapes(char *s, size_t len);

#endif
