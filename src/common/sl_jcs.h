/*
 * sl_jcs.h - JSON Canonicalization Scheme (RFC 8785) for audit entries.
 *
 * sl_jcs() parses one JSON text (RFC 8259, UTF-8) and writes its canonical
 * form: no insignificant whitespace, object members sorted by the UTF-16
 * code units of their names, strings with the minimal escapes of RFC 8785
 * 3.2.2.2, numbers in the ECMAScript Number-to-String form of 3.2.2.3.
 *
 * One documented deviation (docs/audit.md): a number whose exact decimal
 * value an IEEE 754 double cannot reproduce (more than 17 significant
 * digits, or outside the double range) keeps all its digits, laid out with
 * the same ECMAScript rules, where RFC 8785 would round it. For every number
 * a double represents, the output is byte-identical to RFC 8785.
 *
 * Refused (returns -1 with a message): invalid UTF-8, lone surrogates,
 * duplicate member names, nesting deeper than SL_JCS_MAX_DEPTH, trailing
 * garbage, anything RFC 8259 does not allow.
 */
#ifndef SL_JCS_H
#define SL_JCS_H

#include <stddef.h>

#define SL_JCS_MAX_DEPTH 200

typedef struct sl_buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	int			oom;			/* an allocation failed; data is incomplete */
} sl_buf;

/* growable byte buffer (malloc); sl_buf_free releases and zeroes it */
void		sl_buf_init(sl_buf *b);
void		sl_buf_free(sl_buf *b);
void		sl_buf_put(sl_buf *b, const void *p, size_t n);
void		sl_buf_putc(sl_buf *b, char c);
void		sl_buf_puts(sl_buf *b, const char *s);

/*
 * Canonicalise in[0..len) and append the result to out. Returns 0, or -1
 * with *err set to a static message (out then holds partial output).
 */
int			sl_jcs(const char *in, size_t len, sl_buf *out, const char **err);

/*
 * Append the canonical form of a JSON number given as its text (RFC 8259
 * grammar). Returns 0, or -1 when the text is not a JSON number.
 */
int			sl_jcs_number(const char *num, size_t len, sl_buf *out);

/* Append s (valid UTF-8, length len) as a canonical JSON string. */
void		sl_jcs_string(const char *s, size_t len, sl_buf *out);

#endif
