/*
 * sl_jcs.c - RFC 8785 JSON canonicalization (see sl_jcs.h).
 */
#include "sl_jcs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void
sl_buf_init(sl_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->oom = 0;
}

void
sl_buf_free(sl_buf *b)
{
	if (b->data)
	{
		memset(b->data, 0, b->cap);
		free(b->data);
	}
	sl_buf_init(b);
}

void
sl_buf_put(sl_buf *b, const void *p, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (b->len + n > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 64;
		char	   *d;

		while (cap < b->len + n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
		{
			b->oom = 1;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void
sl_buf_putc(sl_buf *b, char c)
{
	sl_buf_put(b, &c, 1);
}

void
sl_buf_puts(sl_buf *b, const char *s)
{
	sl_buf_put(b, s, strlen(s));
}

/* ---- parser state ---- */

typedef struct
{
	const unsigned char *p;
	const unsigned char *end;
	const char *err;
	int			depth;
} parser;

static int	value(parser *ps, sl_buf *out);

static int
fail(parser *ps, const char *msg)
{
	if (!ps->err)
		ps->err = msg;
	return -1;
}

static void
skip_ws(parser *ps)
{
	while (ps->p < ps->end &&
		   (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static void
put_utf8(sl_buf *b, uint32_t cp)
{
	char		u[4];

	if (cp < 0x80)
		sl_buf_putc(b, (char) cp);
	else if (cp < 0x800)
	{
		u[0] = (char) (0xC0 | (cp >> 6));
		u[1] = (char) (0x80 | (cp & 0x3F));
		sl_buf_put(b, u, 2);
	}
	else if (cp < 0x10000)
	{
		u[0] = (char) (0xE0 | (cp >> 12));
		u[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char) (0x80 | (cp & 0x3F));
		sl_buf_put(b, u, 3);
	}
	else
	{
		u[0] = (char) (0xF0 | (cp >> 18));
		u[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char) (0x80 | (cp & 0x3F));
		sl_buf_put(b, u, 4);
	}
}

/*
 * Decode one UTF-8 sequence at s (n bytes available). Returns its length
 * and the code point, or 0 when invalid (overlong, surrogate, > U+10FFFF,
 * truncated).
 */
static int
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t	c;
	int			len,
				i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
	{
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
	{
		len = 2;
		c = s[0] & 0x1F;
	}
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
	{
		len = 3;
		c = s[0] & 0x0F;
	}
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
	{
		len = 4;
		c = s[0] & 0x07;
	}
	else
		return 0;
	if ((size_t) len > n)
		return 0;
	for (i = 1; i < len; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
		(c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

static int
hex4(parser *ps, uint32_t *v)
{
	int			i;

	*v = 0;
	if (ps->end - ps->p < 4)
		return fail(ps, "truncated \\u escape");
	for (i = 0; i < 4; i++)
	{
		unsigned char c = *ps->p++;

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t) (c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (uint32_t) (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (uint32_t) (c - 'A' + 10);
		else
			return fail(ps, "invalid \\u escape");
	}
	return 0;
}

/* parse a JSON string at ps->p (on the quote); decoded UTF-8 into raw */
static int
string_raw(parser *ps, sl_buf *raw)
{
	ps->p++;
	for (;;)
	{
		unsigned char c;

		if (ps->p >= ps->end)
			return fail(ps, "unterminated string");
		c = *ps->p;
		if (c == '"')
		{
			ps->p++;
			return 0;
		}
		if (c < 0x20)
			return fail(ps, "control character in string");
		if (c == '\\')
		{
			uint32_t	cp,
						lo;

			ps->p++;
			if (ps->p >= ps->end)
				return fail(ps, "unterminated string");
			c = *ps->p++;
			switch (c)
			{
				case '"':
				case '\\':
				case '/':
					sl_buf_putc(raw, (char) c);
					break;
				case 'b':
					sl_buf_putc(raw, '\b');
					break;
				case 'f':
					sl_buf_putc(raw, '\f');
					break;
				case 'n':
					sl_buf_putc(raw, '\n');
					break;
				case 'r':
					sl_buf_putc(raw, '\r');
					break;
				case 't':
					sl_buf_putc(raw, '\t');
					break;
				case 'u':
					if (hex4(ps, &cp) < 0)
						return -1;
					if (cp >= 0xDC00 && cp <= 0xDFFF)
						return fail(ps, "lone low surrogate");
					if (cp >= 0xD800 && cp <= 0xDBFF)
					{
						if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
							return fail(ps, "lone high surrogate");
						ps->p += 2;
						if (hex4(ps, &lo) < 0)
							return -1;
						if (lo < 0xDC00 || lo > 0xDFFF)
							return fail(ps, "lone high surrogate");
						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					}
					put_utf8(raw, cp);
					break;
				default:
					return fail(ps, "invalid escape");
			}
			continue;
		}
		{
			uint32_t	cp;
			int			n = utf8_decode(ps->p, (size_t) (ps->end - ps->p), &cp);

			if (n == 0)
				return fail(ps, "invalid UTF-8");
			sl_buf_put(raw, ps->p, (size_t) n);
			ps->p += n;
		}
	}
}

void
sl_jcs_string(const char *s, size_t len, sl_buf *out)
{
	static const char hexd[] = "0123456789abcdef";
	size_t		i,
				run = 0;

	sl_buf_putc(out, '"');
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];
		const char *esc = NULL;
		char		u[6];

		if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '\b')
			esc = "\\b";
		else if (c == '\t')
			esc = "\\t";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\f')
			esc = "\\f";
		else if (c == '\r')
			esc = "\\r";
		else if (c < 0x20)
		{
			memcpy(u, "\\u00", 4);
			u[4] = hexd[c >> 4];
			u[5] = hexd[c & 15];
		}
		else
			continue;
		sl_buf_put(out, s + run, i - run);
		if (esc)
			sl_buf_puts(out, esc);
		else
			sl_buf_put(out, u, 6);
		run = i + 1;
	}
	sl_buf_put(out, s + run, len - run);
	sl_buf_putc(out, '"');
}

/* ---- numbers ---- */

static void
put_int64(sl_buf *b, int64_t v)
{
	char		tmp[24];
	int			i = 0;
	uint64_t	u = v < 0 ? (uint64_t) (-(v + 1)) + 1 : (uint64_t) v;

	if (v < 0)
		sl_buf_putc(b, '-');
	do
	{
		tmp[i++] = (char) ('0' + u % 10);
		u /= 10;
	} while (u);
	while (i > 0)
		sl_buf_putc(b, tmp[--i]);
}

/*
 * Lay out the decimal 0.d1..dk x 10^n (k >= 1, d1 and dk non-zero) the way
 * ECMAScript's Number::toString does (ECMA-262 7.1.12.1 steps 6-10).
 */
static void
es_layout(sl_buf *out, int neg, const char *d, size_t k, int64_t n)
{
	if (neg)
		sl_buf_putc(out, '-');
	if ((int64_t) k <= n && n <= 21)
	{
		int64_t		z;

		sl_buf_put(out, d, k);
		for (z = 0; z < n - (int64_t) k; z++)
			sl_buf_putc(out, '0');
	}
	else if (0 < n && n <= 21)
	{
		sl_buf_put(out, d, (size_t) n);
		sl_buf_putc(out, '.');
		sl_buf_put(out, d + n, k - (size_t) n);
	}
	else if (-6 < n && n <= 0)
	{
		int64_t		z;

		sl_buf_puts(out, "0.");
		for (z = 0; z < -n; z++)
			sl_buf_putc(out, '0');
		sl_buf_put(out, d, k);
	}
	else
	{
		sl_buf_putc(out, d[0]);
		if (k > 1)
		{
			sl_buf_putc(out, '.');
			sl_buf_put(out, d + 1, k - 1);
		}
		sl_buf_putc(out, 'e');
		sl_buf_putc(out, n - 1 >= 0 ? '+' : '-');
		put_int64(out, n - 1 >= 0 ? n - 1 : -(n - 1));
	}
}

#define EXP_LIMIT INT64_C(1000000000000000)

/* parse the number at *pp; on success emit it and advance */
static int
number(const unsigned char **pp, const unsigned char *end, sl_buf *out)
{
	const unsigned char *p = *pp;
	int			neg = 0;
	sl_buf		digits;
	int64_t		point = 0,
				exp = 0;
	size_t		first,
				last;

	sl_buf_init(&digits);
	if (p < end && *p == '-')
	{
		neg = 1;
		p++;
	}
	if (p >= end || *p < '0' || *p > '9')
		return -1;
	if (*p == '0')
	{
		sl_buf_putc(&digits, '0');
		point = 1;
		p++;
	}
	else
		while (p < end && *p >= '0' && *p <= '9')
		{
			sl_buf_putc(&digits, (char) *p++);
			point++;
		}
	if (p < end && *p == '.')
	{
		p++;
		if (p >= end || *p < '0' || *p > '9')
		{
			sl_buf_free(&digits);
			return -1;
		}
		while (p < end && *p >= '0' && *p <= '9')
			sl_buf_putc(&digits, (char) *p++);
	}
	if (p < end && (*p == 'e' || *p == 'E'))
	{
		int			eneg = 0;

		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = (*p++ == '-');
		if (p >= end || *p < '0' || *p > '9')
		{
			sl_buf_free(&digits);
			return -1;
		}
		while (p < end && *p >= '0' && *p <= '9')
		{
			exp = exp * 10 + (*p++ - '0');
			/*
			 * An exponent beyond the limit is refused, not clamped: a
			 * clamped value would print an exponent that parses to
			 * another one, and canonical text must be a fixed point.
			 */
			if (exp > EXP_LIMIT)
			{
				sl_buf_free(&digits);
				return -1;
			}
		}
		if (eneg)
			exp = -exp;
	}
	if (digits.oom)
	{
		sl_buf_free(&digits);
		out->oom = 1;
		return -1;
	}
	/* normalise: strip leading zeros (moving the point) and trailing zeros */
	for (first = 0; first < digits.len && digits.data[first] == '0'; first++)
		point--;
	for (last = digits.len; last > first && digits.data[last - 1] == '0'; last--)
		;
	/* the printed exponent must parse back to itself (see above) */
	if (first != last && (point + exp - 1 > EXP_LIMIT || point + exp - 1 < -EXP_LIMIT))
	{
		sl_buf_free(&digits);
		return -1;
	}
	if (first == last)
		sl_buf_putc(out, '0');	/* every zero, -0 included, is "0" */
	else
		es_layout(out, neg, digits.data + first, last - first, point + exp);
	sl_buf_free(&digits);
	*pp = p;
	return 0;
}

int
sl_jcs_number(const char *num, size_t len, sl_buf *out)
{
	const unsigned char *p = (const unsigned char *) num;

	if (number(&p, p + len, out) < 0)
		return -1;
	return p == (const unsigned char *) num + len ? 0 : -1;
}

/* ---- objects ---- */

typedef struct
{
	sl_buf		key;			/* decoded UTF-8 */
	sl_buf		val;			/* canonical value */
} member;

/* the first UTF-16 code unit of a code point, for RFC 8785 3.2.3 ordering */
static uint32_t
utf16_unit(uint32_t cp)
{
	return cp < 0x10000 ? cp : 0xD800 + ((cp - 0x10000) >> 10);
}

static int
key_cmp(const void *a, const void *b)
{
	const sl_buf *x = &((const member *) a)->key;
	const sl_buf *y = &((const member *) b)->key;
	size_t		i = 0,
				j = 0;

	while (i < x->len && j < y->len)
	{
		uint32_t	cx,
					cy;
		int			nx = utf8_decode((const unsigned char *) x->data + i, x->len - i, &cx);
		int			ny = utf8_decode((const unsigned char *) y->data + j, y->len - j, &cy);

		/* keys were validated; NUL (from \u0000) decodes as length 1 */
		if (nx == 0 || ny == 0)
			return nx == 0 ? (ny == 0 ? 0 : -1) : 1;
		if (cx != cy)
		{
			uint32_t	ux = utf16_unit(cx),
						uy = utf16_unit(cy);

			if (ux != uy)
				return ux < uy ? -1 : 1;
			return cx < cy ? -1 : 1;
		}
		i += (size_t) nx;
		j += (size_t) ny;
	}
	if (i < x->len)
		return 1;
	if (j < y->len)
		return -1;
	return 0;
}

static void
free_members(member *m, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		sl_buf_free(&m[i].key);
		sl_buf_free(&m[i].val);
	}
	free(m);
}

static int
object(parser *ps, sl_buf *out)
{
	member	   *m = NULL;
	size_t		n = 0,
				cap = 0,
				i;

	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}')
	{
		ps->p++;
		sl_buf_puts(out, "{}");
		return 0;
	}
	for (;;)
	{
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '"')
		{
			free_members(m, n);
			return fail(ps, "expected a member name");
		}
		if (n == cap)
		{
			member	   *nm;

			cap = cap ? cap * 2 : 8;
			nm = realloc(m, cap * sizeof(member));
			if (!nm)
			{
				free_members(m, n);
				out->oom = 1;
				return fail(ps, "out of memory");
			}
			m = nm;
		}
		sl_buf_init(&m[n].key);
		sl_buf_init(&m[n].val);
		n++;
		if (string_raw(ps, &m[n - 1].key) < 0)
		{
			free_members(m, n);
			return -1;
		}
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != ':')
		{
			free_members(m, n);
			return fail(ps, "expected ':'");
		}
		ps->p++;
		if (value(ps, &m[n - 1].val) < 0)
		{
			free_members(m, n);
			return -1;
		}
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',')
		{
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}')
		{
			ps->p++;
			break;
		}
		free_members(m, n);
		return fail(ps, "expected ',' or '}'");
	}
	qsort(m, n, sizeof(member), key_cmp);
	sl_buf_putc(out, '{');
	for (i = 0; i < n; i++)
	{
		if (m[i].key.oom || m[i].val.oom)
			out->oom = 1;
		if (i > 0 && key_cmp(&m[i - 1], &m[i]) == 0)
		{
			free_members(m, n);
			return fail(ps, "duplicate member name");
		}
		if (i > 0)
			sl_buf_putc(out, ',');
		sl_jcs_string(m[i].key.data ? m[i].key.data : "", m[i].key.len, out);
		sl_buf_putc(out, ':');
		sl_buf_put(out, m[i].val.data, m[i].val.len);
	}
	sl_buf_putc(out, '}');
	free_members(m, n);
	return 0;
}

static int
array(parser *ps, sl_buf *out)
{
	int			first = 1;

	ps->p++;
	sl_buf_putc(out, '[');
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ']')
	{
		ps->p++;
		sl_buf_putc(out, ']');
		return 0;
	}
	for (;;)
	{
		if (!first)
			sl_buf_putc(out, ',');
		first = 0;
		if (value(ps, out) < 0)
			return -1;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',')
		{
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']')
		{
			ps->p++;
			sl_buf_putc(out, ']');
			return 0;
		}
		return fail(ps, "expected ',' or ']'");
	}
}

static int
literal(parser *ps, const char *word, sl_buf *out)
{
	size_t		n = strlen(word);

	if ((size_t) (ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail(ps, "invalid literal");
	ps->p += n;
	sl_buf_put(out, word, n);
	return 0;
}

static int
value(parser *ps, sl_buf *out)
{
	int			rc;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end of input");
	switch (*ps->p)
	{
		case '{':
		case '[':
			if (++ps->depth > SL_JCS_MAX_DEPTH)
				return fail(ps, "nesting too deep");
			rc = (*ps->p == '{') ? object(ps, out) : array(ps, out);
			ps->depth--;
			return rc;
		case '"':
			{
				sl_buf		raw;

				sl_buf_init(&raw);
				rc = string_raw(ps, &raw);
				if (rc == 0)
				{
					if (raw.oom)
						out->oom = 1;
					sl_jcs_string(raw.data ? raw.data : "", raw.len, out);
				}
				sl_buf_free(&raw);
				return rc;
			}
		case 't':
			return literal(ps, "true", out);
		case 'f':
			return literal(ps, "false", out);
		case 'n':
			return literal(ps, "null", out);
		default:
			if (number(&ps->p, ps->end, out) < 0)
				return fail(ps, "invalid number");
			return 0;
	}
}

int
sl_jcs(const char *in, size_t len, sl_buf *out, const char **err)
{
	parser		ps;

	ps.p = (const unsigned char *) in;
	ps.end = ps.p + len;
	ps.err = NULL;
	ps.depth = 0;
	if (value(&ps, out) == 0)
	{
		skip_ws(&ps);
		if (ps.p != ps.end)
			fail(&ps, "trailing characters after the JSON value");
	}
	if (!ps.err && out->oom)
		ps.err = "out of memory";
	if (err)
		*err = ps.err;
	return ps.err ? -1 : 0;
}
