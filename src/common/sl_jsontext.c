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
