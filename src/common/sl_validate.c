/*
 * sl_validate.c - validators for identifiers and contact data.
 */
#include "sl_validate.h"

#include <string.h>

static int
is_lower(unsigned char c)
{
	return c >= 'a' && c <= 'z';
}

static int
is_upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Words that would collide with routes of the web apps or confuse
 * participants. Sorted for readability; the list is short, so a linear
 * scan is fine.
 */
static const char *const reserved_slugs[] = {
	"admin", "api", "app", "auth", "billing", "checkout", "dashboard",
	"docs", "help", "login", "logout", "me", "new", "null", "organizations",
	"settings", "signup", "startlijn", "static", "status", "support",
	"undefined", "www",
};

int
sl_slug_reserved(const char *s, size_t len)
{
	size_t		i;

	for (i = 0; i < sizeof(reserved_slugs) / sizeof(reserved_slugs[0]); i++)
	{
		if (strlen(reserved_slugs[i]) == len && memcmp(reserved_slugs[i], s, len) == 0)
			return 1;
	}
	return 0;
}

int
sl_valid_slug(const char *s, size_t len)
{
	size_t		i;

	if (s == NULL || len < SL_SLUG_MIN || len > SL_SLUG_MAX)
		return 0;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '-')
		{
			if (i == 0 || i == len - 1 || s[i - 1] == '-')
				return 0;
		}
		else if (!is_lower(c) && !is_digit(c))
			return 0;
	}
	return !sl_slug_reserved(s, len);
}

int
sl_valid_kvk(const char *s, size_t len)
{
	size_t		i;

	if (s == NULL || len != 8)
		return 0;
	for (i = 0; i < len; i++)
		if (!is_digit((unsigned char) s[i]))
			return 0;
	return 1;
}

int
sl_valid_country(const char *s, size_t len)
{
	return s != NULL && len == 2 && is_upper((unsigned char) s[0]) &&
		is_upper((unsigned char) s[1]);
}

int
sl_valid_locale(const char *s, size_t len)
{
	if (s == NULL)
		return 0;
	if (len == 2)
		return is_lower((unsigned char) s[0]) && is_lower((unsigned char) s[1]);
	if (len == 5)
		return is_lower((unsigned char) s[0]) && is_lower((unsigned char) s[1]) &&
			s[2] == '-' &&
			is_upper((unsigned char) s[3]) && is_upper((unsigned char) s[4]);
	return 0;
}

int
sl_valid_phone(const char *s, size_t len)
{
	size_t		i;

	/* '+' plus 7..15 digits in all */
	if (s == NULL || len < 8 || len > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return 0;
	for (i = 2; i < len; i++)
		if (!is_digit((unsigned char) s[i]))
			return 0;
	return 1;
}

static int
email_local_char(unsigned char c)
{
	if (is_lower(c) || is_upper(c) || is_digit(c))
		return 1;
	/* RFC 5322 atext, without quoting support */
	return c != '\0' && strchr("!#$%&'*+/=?^_`{|}~.-", c) != NULL;
}

int
sl_valid_email(const char *s, size_t len)
{
	size_t		at = len,
				i,
				label_len = 0,
				dots = 0;

	if (s == NULL || len < 3 || len > SL_EMAIL_MAX)
		return 0;
	for (i = 0; i < len; i++)
	{
		if (s[i] == '@')
		{
			if (at != len)
				return 0;		/* second '@' */
			at = i;
		}
	}
	if (at == len || at == 0 || at > 64 || at == len - 1)
		return 0;
	/* local part: atext and dots, no leading, trailing or double dot */
	for (i = 0; i < at; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (!email_local_char(c))
			return 0;
		if (c == '.' && (i == 0 || i == at - 1 || s[i - 1] == '.'))
			return 0;
	}
	/* domain: LDH labels of 1..63, at least two labels, TLD not all digits */
	for (i = at + 1; i <= len; i++)
	{
		unsigned char c = i < len ? (unsigned char) s[i] : '.';

		if (c == '.')
		{
			if (label_len == 0 || label_len > 63 || s[i - 1] == '-')
				return 0;
			if (i < len)
				dots++;
			label_len = 0;
		}
		else if (is_lower(c) || is_upper(c) || is_digit(c) || c == '-')
		{
			if (c == '-' && label_len == 0)
				return 0;
			label_len++;
		}
		else
			return 0;
	}
	if (dots == 0)
		return 0;
	/* the top-level label must contain a letter */
	for (i = len; i > at + 1 && s[i - 1] != '.'; i--)
		if (is_lower((unsigned char) s[i - 1]) || is_upper((unsigned char) s[i - 1]))
			return 1;
	return 0;
}

long
sl_utf8_length(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *) str;
	size_t		i = 0;
	long		n = 0;

	while (i < len)
	{
		unsigned char c = s[i];
		unsigned int cp;
		size_t		need,
					k;

		if (c < 0x80)
		{
			i++;
			n++;
			continue;
		}
		else if (c >= 0xC2 && c <= 0xDF)
		{
			need = 1;
			cp = c & 0x1F;
		}
		else if (c >= 0xE0 && c <= 0xEF)
		{
			need = 2;
			cp = c & 0x0F;
		}
		else if (c >= 0xF0 && c <= 0xF4)
		{
			need = 3;
			cp = c & 0x07;
		}
		else
			return -1;
		if (len - i <= need)
			return -1;
		for (k = 1; k <= need; k++)
		{
			if ((s[i + k] & 0xC0) != 0x80)
				return -1;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
			cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return -1;
		i += need + 1;
		n++;
	}
	return n;
}

static int
is_space_byte(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int
sl_valid_name(const char *s, size_t len, size_t max_chars)
{
	long		n;
	size_t		i;

	if (s == NULL || len == 0)
		return 0;
	n = sl_utf8_length(s, len);
	if (n < 1 || (size_t) n > max_chars)
		return 0;
	if (is_space_byte((unsigned char) s[0]) || is_space_byte((unsigned char) s[len - 1]))
		return 0;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		/* C0 controls and DEL */
		if (c < 0x20 || c == 0x7F)
			return 0;
		/* C1 controls U+0080..U+009F are encoded as C2 80..C2 9F */
		if (c == 0xC2 && i + 1 < len && (unsigned char) s[i + 1] >= 0x80 &&
			(unsigned char) s[i + 1] <= 0x9F)
			return 0;
		/* invisible and direction-changing characters (E2 80 8B.. and EF BB BF) */
		if ((c == 0xE2 || c == 0xEF) && i + 2 < len &&
			sl_invisible_char(sl_utf8_decode3(s + i)))
			return 0;
	}
	return 1;
}

/*
 * Characters that change how a name is shown without being seen: zero-width
 * space, non-joiner and joiner, left-to-right and right-to-left marks
 * (U+200B..U+200F), the bidirectional embeddings and overrides
 * (U+202A..U+202E), word joiner and invisible operators (U+2060..U+2064),
 * the bidirectional isolates (U+2066..U+2069) and the byte order mark
 * U+FEFF. A name holding one can impersonate another in a list ("Anna"
 * and "An<U+200B>na", or an organiser name reversed by U+202E).
 */
int
sl_invisible_char(long cp)
{
	return (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
		(cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) ||
		cp == 0xFEFF;
}

/* the code point of a three-byte UTF-8 sequence at s (validated before) */
long
sl_utf8_decode3(const char *s)
{
	const unsigned char *u = (const unsigned char *) s;

	if ((u[0] & 0xF0) != 0xE0 || (u[1] & 0xC0) != 0x80 || (u[2] & 0xC0) != 0x80)
		return -1;
	return ((long) (u[0] & 0x0F) << 12) | ((long) (u[1] & 0x3F) << 6) | (u[2] & 0x3F);
}
