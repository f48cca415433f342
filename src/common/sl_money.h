/*
 * sl_money.h - amounts as providers send them (pure C, no postgres.h).
 *
 * Both parsers take a byte buffer and its length (not NUL-terminated),
 * never allocate and never read past len (see test/fuzz/fuzz_money.c).
 */
#ifndef SL_MONEY_H
#define SL_MONEY_H

#include <stddef.h>
#include <stdint.h>

/*
 * An integer the way PostgreSQL's int8 input reads it: optional
 * whitespace, an optional sign, at least one decimal digit, optional
 * whitespace. Returns 1 and sets *out, or 0 (bad text or out of range).
 */
int			sl_parse_int64(const char *s, size_t len, int64_t *out);

/*
 * The number of decimals of an ISO 4217 currency code (case-insensitive):
 * 0 for JPY, KRW, ISK, CLP, VND, XOF, XAF, UGX, PYG; 3 for BHD, KWD, JOD,
 * OMR, TND, LYD, IQD; 2 for every other code, and for a NULL currency.
 */
int			sl_currency_decimals(const char *cur, size_t len);

/*
 * Minor units of a decimal amount text as Mollie sends it ("10.00" EUR
 * -> 1000): 1 to 12 digits, then a point and exactly the currency's number
 * of decimals (none for a currency without decimals). Returns 1 and sets
 * *out, or 0 when the text does not have exactly that shape.
 */
int			sl_minor_units(const char *s, size_t len, const char *cur, size_t curlen, int64_t *out);

#endif
