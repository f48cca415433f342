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

/*
 * 1 when a JSON text that is valid json may still be refused by
 * PostgreSQL's jsonb input: it holds a surrogate escape (\uD800..\uDFFF,
 * a lone one is refused; a pair is fine but flagged too) or a number whose
 * exponent has four digits or more (numeric's range ends near 1e131072
 * and 1e-16383). 0 guarantees neither occurs, so the caller may parse
 * without a subtransaction. Safe on any bytes.
 */
int			sl_json_may_fail_jsonb(const char *s, size_t len);

#endif
