/*
 * sl_money.c - amounts as providers send them (see sl_money.h).
 */
#include "common/sl_money.h"

#include <string.h>

static int
is_space(char c)
{
	/* isspace() in the C locale, as PostgreSQL's int8 input uses */
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int
sl_parse_int64(const char *s, size_t len, int64_t *out)
{
	size_t		i = 0;
	int			neg = 0;
	uint64_t	acc = 0;
	size_t		digits = 0;

	while (i < len && is_space(s[i]))
		i++;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++)
	{
		uint64_t	d = (uint64_t) (s[i] - '0');

		/* the magnitude may reach 2^63 only when negative */
		if (acc > (UINT64_C(9223372036854775808) - d) / 10)
			return 0;
		acc = acc * 10 + d;
	}
	if (digits == 0)
		return 0;
	while (i < len && is_space(s[i]))
		i++;
	if (i != len)
		return 0;
	if (!neg && acc > (uint64_t) INT64_MAX)
		return 0;
	if (neg)
		*out = acc == UINT64_C(9223372036854775808) ? INT64_MIN : -(int64_t) acc;
	else
		*out = (int64_t) acc;
	return 1;
}

static int
code_is(const char *cur, size_t len, const char *code)
{
	if (len != 3)
		return 0;
	for (size_t i = 0; i < 3; i++)
	{
		char		c = cur[i];

		if (c >= 'a' && c <= 'z')
			c = (char) (c - 'a' + 'A');
		if (c != code[i])
			return 0;
	}
	return 1;
}

int
sl_currency_decimals(const char *cur, size_t len)
{
	static const char *const zero[] = {"JPY", "KRW", "ISK", "CLP", "VND", "XOF", "XAF", "UGX", "PYG"};
	static const char *const three[] = {"BHD", "KWD", "JOD", "OMR", "TND", "LYD", "IQD"};

	if (cur == NULL)
		return 2;
	for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
		if (code_is(cur, len, zero[i]))
			return 0;
	for (size_t i = 0; i < sizeof three / sizeof three[0]; i++)
		if (code_is(cur, len, three[i]))
			return 3;
	return 2;
}

int
sl_minor_units(const char *s, size_t len, const char *cur, size_t curlen, int64_t *out)
{
	int			decimals = sl_currency_decimals(cur, curlen);
	size_t		i = 0;
	int64_t		v = 0;

	if (s == NULL)
		return 0;
	while (i < len && s[i] >= '0' && s[i] <= '9')
	{
		if (i == 12)
			return 0;			/* more than 12 digits */
		v = v * 10 + (s[i++] - '0');
	}
	if (i == 0)
		return 0;
	if (decimals > 0)
	{
		if (i == len || s[i] != '.' || len - i - 1 != (size_t) decimals)
			return 0;
		for (i++; i < len; i++)
		{
			if (s[i] < '0' || s[i] > '9')
				return 0;
			v = v * 10 + (s[i] - '0');
		}
	}
	if (i != len)
		return 0;
	*out = v;
	return 1;
}
