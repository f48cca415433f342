#include "tap.h"

#include <stdint.h>
#include <string.h>

#include "common/sl_money.h"

#define INT(s, o) sl_parse_int64((s), strlen(s), (o))
#define MINOR(s, c, o) sl_minor_units((s), strlen(s), (c), strlen(c), (o))

void
test_money(void)
{
	int64_t		v = 0;

	/* integers as int8 input reads them */
	ok(INT("1000", &v) && v == 1000, "int: plain digits");
	ok(INT("  -42 ", &v) && v == -42, "int: whitespace and sign");
	ok(INT("+7", &v) && v == 7, "int: plus sign");
	ok(INT("9223372036854775807", &v) && v == INT64_MAX, "int: largest bigint");
	ok(INT("-9223372036854775808", &v) && v == INT64_MIN, "int: smallest bigint");
	ok(!INT("9223372036854775808", &v), "int: one past the largest is out of range");
	ok(!INT("-9223372036854775809", &v), "int: one past the smallest is out of range");
	ok(!INT("99999999999999999999999", &v), "int: far out of range");
	ok(!INT("12.5", &v), "int: a fraction is not an integer");
	ok(!INT("1E+3", &v), "int: an exponent is not an integer");
	ok(!INT("", &v) && !INT(" ", &v) && !INT("-", &v), "int: empty, blank, sign only");
	ok(!INT("1 2", &v), "int: inner space");
	ok(!INT("0x10", &v), "int: no hex");
	ok(!sl_parse_int64("12\0" "3", 4, &v), "int: embedded NUL");

	/* currency decimals */
	ok(sl_currency_decimals("EUR", 3) == 2 && sl_currency_decimals("jpy", 3) == 0 &&
	   sl_currency_decimals("KWD", 3) == 3 && sl_currency_decimals(NULL, 0) == 2 &&
	   sl_currency_decimals("JPYX", 4) == 2, "decimals: EUR 2, jpy 0, KWD 3, none 2, JPYX 2");

	/* Mollie amounts */
	ok(MINOR("10.00", "EUR", &v) && v == 1000, "minor: 10.00 EUR is 1000");
	ok(MINOR("0.01", "eur", &v) && v == 1, "minor: 0.01 eur is 1");
	ok(MINOR("500", "JPY", &v) && v == 500, "minor: 500 JPY is 500");
	ok(MINOR("1.234", "KWD", &v) && v == 1234, "minor: 1.234 KWD is 1234");
	ok(MINOR("999999999999.99", "EUR", &v) && v == 99999999999999LL, "minor: 12 digits and 2 decimals");
	ok(!MINOR("1000000000000.00", "EUR", &v), "minor: 13 digits before the point");
	ok(!MINOR("10", "EUR", &v), "minor: EUR needs its decimals");
	ok(!MINOR("10.0", "EUR", &v) && !MINOR("10.000", "EUR", &v), "minor: EUR needs exactly two decimals");
	ok(!MINOR("500.00", "JPY", &v), "minor: JPY has no decimals");
	ok(!MINOR(".50", "EUR", &v) && !MINOR("-1.00", "EUR", &v) && !MINOR(" 1.00", "EUR", &v) &&
	   !MINOR("1.00 ", "EUR", &v) && !MINOR("1,00", "EUR", &v) && !MINOR("", "EUR", &v),
	   "minor: no leading point, sign, spaces or comma");
	ok(sl_minor_units("7.50", 4, NULL, 0, &v) && v == 750, "minor: no currency means two decimals");
	ok(!sl_minor_units(NULL, 0, "EUR", 3, &v), "minor: no text");
}
