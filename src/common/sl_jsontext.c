/*
 * sl_jsontext.c - small edits of JSON text (see sl_jsontext.h).
 */
#include "common/sl_jsontext.h"

#include <string.h>

size_t
sl_json_mask_nul_escapes(char *s, size_t len)
{
	size_t		n = 0;
	size_t		i = 0;

	while (i < len)
	{
		if (s[i] != '\\')
		{
			i++;
			continue;
		}
		/* an escape: a backslash and the character it escapes */
		if (len - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0)
		{
			memcpy(s + i + 1, "ufffd", 5);
			n++;
			i += 6;
		}
		else
			i += 2;
	}
	return n;
}

static int
is_hex8_b(char c)
{
	return c == '8' || c == '9' || c == 'a' || c == 'b' || c == 'A' || c == 'B';
}

int
sl_json_may_fail_jsonb(const char *s, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		if (s[i] == '\\' && i + 1 < len)
		{
			/* an escape: \uD8xx..\uDFxx is a surrogate; skip the escaped character */
			if (s[i + 1] == 'u' && i + 3 < len && (s[i + 2] == 'd' || s[i + 2] == 'D') && is_hex8_b(s[i + 3]))
				return 1;
			i++;
			continue;
		}
		if ((s[i] == 'e' || s[i] == 'E') && i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		{
			size_t		j = i + 1,
						digits = 0;

			if (j < len && (s[j] == '+' || s[j] == '-'))
				j++;
			while (j < len && s[j] == '0')
				j++;
			while (j < len && s[j] >= '0' && s[j] <= '9')
			{
				digits++;
				j++;
			}
			if (digits >= 4)
				return 1;
		}
	}
	return 0;
}
