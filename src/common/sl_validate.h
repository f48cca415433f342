/*
 * sl_validate.h - validators for identifiers and contact data (pure C).
 *
 * All functions take a byte buffer and its length (not NUL-terminated) and
 * return 1 when valid, 0 otherwise. They never allocate and never read past
 * len, so they are safe on arbitrary input (see test/fuzz/).
 */
#ifndef SL_VALIDATE_H
#define SL_VALIDATE_H

#include <stddef.h>

#define SL_SLUG_MIN 3
#define SL_SLUG_MAX 63
#define SL_NAME_MAX_CHARS 200
#define SL_EMAIL_MAX 254

/* a-z 0-9 and single hyphens, 3..63, no leading/trailing hyphen, not reserved */
int			sl_valid_slug(const char *s, size_t len);

/* is this (valid-shaped) slug one of the reserved words? */
int			sl_slug_reserved(const char *s, size_t len);

/* Dutch Chamber of Commerce number: exactly 8 ASCII digits */
int			sl_valid_kvk(const char *s, size_t len);

/* ISO 3166-1 alpha-2 shape: two ASCII uppercase letters */
int			sl_valid_country(const char *s, size_t len);

/* pragmatic address check: local@domain, no spaces/controls, dotted domain */
int			sl_valid_email(const char *s, size_t len);

/* E.164: '+', a non-zero digit, then 6..14 more digits */
int			sl_valid_phone(const char *s, size_t len);

/* language tag: ll or ll-CC (ISO 639-1 lowercase, ISO 3166 uppercase) */
int			sl_valid_locale(const char *s, size_t len);

/*
 * Display name: valid UTF-8, 1..max_chars code points, no control
 * characters, no zero-width or bidirectional controls or byte order mark
 * (sl_invisible_char), no leading or trailing whitespace.
 */
int			sl_valid_name(const char *s, size_t len, size_t max_chars);

/*
 * Count code points of valid UTF-8 (rejecting overlongs, surrogates and
 * values above U+10FFFF). Returns -1 for invalid UTF-8.
 */
long		sl_utf8_length(const char *s, size_t len);

/* 1 for a zero-width, bidirectional-control or byte-order-mark code point */
int			sl_invisible_char(long cp);

/* the code point of the three-byte UTF-8 sequence at s, or -1 */
long		sl_utf8_decode3(const char *s);

#endif
