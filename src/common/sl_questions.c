/*
 * sl_questions.c - registration questions and answers (see sl_questions.h).
 *
 * A small JSON reader builds a tree in one malloc'd arena (nodes and
 * unescaped strings), bounded by the input size; the checks walk it.
 */
#include "sl_questions.h"

#include <math.h>				/* isfinite */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_validate.h"

enum
{
	J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ
};

#define J_MAX_DEPTH 16

typedef struct jnode
{
	int			type;
	const char *s;				/* J_STR: unescaped bytes; J_NUM: the text */
	size_t		slen;
	double		num;
	const char *key;			/* member name when in an object */
	size_t		klen;
	int			first;			/* first child (arrays, objects) or -1 */
	int			next;			/* next sibling or -1 */
	int			count;
} jnode;

typedef struct jdoc
{
	const char *p;
	const char *end;
	jnode	   *nodes;
	int			nnodes;
	int			cap;
	char	   *sbuf;			/* unescaped strings */
	size_t		sused;
	size_t		scap;
	const char *err;
} jdoc;

static void
skip_ws(jdoc *d)
{
	while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r'))
		d->p++;
}

static int
new_node(jdoc *d, int type)
{
	jnode	   *n;

	if (d->nnodes >= d->cap)
	{
		d->err = "too many values";
		return -1;
	}
	n = &d->nodes[d->nnodes];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->first = -1;
	n->next = -1;
	return d->nnodes++;
}

static void
put_utf8(jdoc *d, unsigned long cp)
{
	char	   *o = d->sbuf + d->sused;

	if (cp < 0x80)
		o[0] = (char) cp, d->sused += 1;
	else if (cp < 0x800)
		o[0] = (char) (0xC0 | (cp >> 6)), o[1] = (char) (0x80 | (cp & 0x3F)), d->sused += 2;
	else if (cp < 0x10000)
		o[0] = (char) (0xE0 | (cp >> 12)), o[1] = (char) (0x80 | ((cp >> 6) & 0x3F)),
			o[2] = (char) (0x80 | (cp & 0x3F)), d->sused += 3;
	else
		o[0] = (char) (0xF0 | (cp >> 18)), o[1] = (char) (0x80 | ((cp >> 12) & 0x3F)),
			o[2] = (char) (0x80 | ((cp >> 6) & 0x3F)), o[3] = (char) (0x80 | (cp & 0x3F)), d->sused += 4;
}

static int
hex4(const char *p, unsigned long *out)
{
	unsigned long v = 0;

	for (int i = 0; i < 4; i++)
	{
		char		c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned long) (c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned long) (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned long) (c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* one UTF-8 sequence at p (valid, shortest form, no surrogates): its length, or 0 */
static size_t
utf8_seq(const unsigned char *p, const unsigned char *end)
{
	size_t		n;
	unsigned long cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2, cp = p[0] & 0x1F;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3, cp = p[0] & 0x0F;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if ((size_t) (end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++)
	{
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return n;
}

static int
parse_string(jdoc *d, const char **out, size_t *outlen)
{
	char	   *start = d->sbuf + d->sused;

	d->p++;						/* the opening quote */
	while (d->p < d->end && *d->p != '"')
	{
		unsigned char c = (unsigned char) *d->p;

		if (c < 0x20)
		{
			d->err = "a control character inside a string";
			return -1;
		}
		if (c == '\\')
		{
			unsigned long cp;

			if (d->end - d->p < 2)
				break;
			switch (d->p[1])
			{
				case '"': case '\\': case '/':
					d->sbuf[d->sused++] = d->p[1];
					d->p += 2;
					continue;
				case 'b': d->sbuf[d->sused++] = '\b'; d->p += 2; continue;
				case 'f': d->sbuf[d->sused++] = '\f'; d->p += 2; continue;
				case 'n': d->sbuf[d->sused++] = '\n'; d->p += 2; continue;
				case 'r': d->sbuf[d->sused++] = '\r'; d->p += 2; continue;
				case 't': d->sbuf[d->sused++] = '\t'; d->p += 2; continue;
				case 'u':
					if (d->end - d->p < 6 || hex4(d->p + 2, &cp) < 0)
					{
						d->err = "a malformed \\u escape";
						return -1;
					}
					d->p += 6;
					if (cp >= 0xD800 && cp <= 0xDBFF)
					{
						unsigned long lo;

						if (d->end - d->p < 6 || d->p[0] != '\\' || d->p[1] != 'u' || hex4(d->p + 2, &lo) < 0
							|| lo < 0xDC00 || lo > 0xDFFF)
						{
							d->err = "a lone surrogate";
							return -1;
						}
						d->p += 6;
						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					}
					else if (cp >= 0xDC00 && cp <= 0xDFFF)
					{
						d->err = "a lone surrogate";
						return -1;
					}
					if (cp == 0)
					{
						d->err = "a NUL character inside a string";
						return -1;
					}
					put_utf8(d, cp);
					continue;
				default:
					d->err = "a malformed escape";
					return -1;
			}
		}
		else
		{
			size_t		n = utf8_seq((const unsigned char *) d->p, (const unsigned char *) d->end);

			if (n == 0)
			{
				d->err = "invalid UTF-8";
				return -1;
			}
			memcpy(d->sbuf + d->sused, d->p, n);
			d->sused += n;
			d->p += n;
		}
	}
	if (d->p >= d->end)
	{
		d->err = "an unterminated string";
		return -1;
	}
	d->p++;						/* the closing quote */
	*out = start;
	*outlen = (size_t) (d->sbuf + d->sused - start);
	return 0;
}

static int	parse_value(jdoc *d, int depth);

static int
parse_number(jdoc *d)
{
	const char *s = d->p;
	char		buf[64];
	int			idx;

	if (d->p < d->end && *d->p == '-')
		d->p++;
	if (d->p < d->end && *d->p == '0')
		d->p++;
	else if (d->p < d->end && *d->p >= '1' && *d->p <= '9')
		while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
			d->p++;
	else
		goto bad;
	if (d->p < d->end && *d->p == '.')
	{
		d->p++;
		if (!(d->p < d->end && *d->p >= '0' && *d->p <= '9'))
			goto bad;
		while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
			d->p++;
	}
	if (d->p < d->end && (*d->p == 'e' || *d->p == 'E'))
	{
		d->p++;
		if (d->p < d->end && (*d->p == '+' || *d->p == '-'))
			d->p++;
		if (!(d->p < d->end && *d->p >= '0' && *d->p <= '9'))
			goto bad;
		while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
			d->p++;
	}
	if ((size_t) (d->p - s) >= sizeof(buf))
	{
		d->err = "a number with too many digits";
		return -1;
	}
	idx = new_node(d, J_NUM);
	if (idx < 0)
		return -1;
	memcpy(buf, s, (size_t) (d->p - s));
	buf[d->p - s] = '\0';
	d->nodes[idx].num = strtod(buf, NULL);
	d->nodes[idx].s = s;
	d->nodes[idx].slen = (size_t) (d->p - s);
	if (!isfinite(d->nodes[idx].num))
	{
		d->err = "a number out of range";
		return -1;
	}
	return idx;
bad:
	d->err = "not JSON";
	return -1;
}

static int
literal(jdoc *d, const char *word, int type)
{
	size_t		n = strlen(word);

	if ((size_t) (d->end - d->p) < n || memcmp(d->p, word, n) != 0)
	{
		d->err = "not JSON";
		return -1;
	}
	d->p += n;
	return new_node(d, type);
}

static int
parse_container(jdoc *d, int depth, int obj)
{
	int			idx = new_node(d, obj ? J_ARR + 1 : J_ARR);
	int			last = -1;

	if (idx < 0)
		return -1;
	d->p++;
	skip_ws(d);
	if (d->p < d->end && *d->p == (obj ? '}' : ']'))
	{
		d->p++;
		return idx;
	}
	for (;;)
	{
		const char *k = NULL;
		size_t		kl = 0;
		int			child;

		skip_ws(d);
		if (obj)
		{
			if (!(d->p < d->end && *d->p == '"'))
			{
				d->err = "not JSON";
				return -1;
			}
			if (parse_string(d, &k, &kl) < 0)
				return -1;
			for (int c = d->nodes[idx].first; c >= 0; c = d->nodes[c].next)
				if (d->nodes[c].klen == kl && memcmp(d->nodes[c].key, k, kl) == 0)
				{
					d->err = "a duplicate member name";
					return -1;
				}
			skip_ws(d);
			if (!(d->p < d->end && *d->p == ':'))
			{
				d->err = "not JSON";
				return -1;
			}
			d->p++;
		}
		child = parse_value(d, depth + 1);
		if (child < 0)
			return -1;
		d->nodes[child].key = k;
		d->nodes[child].klen = kl;
		if (last < 0)
			d->nodes[idx].first = child;
		else
			d->nodes[last].next = child;
		last = child;
		d->nodes[idx].count++;
		skip_ws(d);
		if (d->p < d->end && *d->p == ',')
		{
			d->p++;
			continue;
		}
		if (d->p < d->end && *d->p == (obj ? '}' : ']'))
		{
			d->p++;
			return idx;
		}
		d->err = "not JSON";
		return -1;
	}
}

static int
parse_value(jdoc *d, int depth)
{
	if (depth > J_MAX_DEPTH)
	{
		d->err = "nested too deeply";
		return -1;
	}
	skip_ws(d);
	if (d->p >= d->end)
	{
		d->err = "not JSON";
		return -1;
	}
	switch (*d->p)
	{
		case '{':
			return parse_container(d, depth, 1);
		case '[':
			return parse_container(d, depth, 0);
		case '"':
			{
				int			idx;
				const char *s;
				size_t		n;

				if (parse_string(d, &s, &n) < 0)
					return -1;
				idx = new_node(d, J_STR);
				if (idx < 0)
					return -1;
				d->nodes[idx].s = s;
				d->nodes[idx].slen = n;
				return idx;
			}
		case 't':
			return literal(d, "true", J_TRUE);
		case 'f':
			return literal(d, "false", J_FALSE);
		case 'n':
			return literal(d, "null", J_NULL);
		default:
			return parse_number(d);
	}
}

/* parse text into d (root is node 0); -1 with d->err */
static int
jparse(jdoc *d, const char *text, size_t len)
{
	memset(d, 0, sizeof(*d));
	if (len > SL_Q_MAX_TEXT)
	{
		d->err = "too long";
		return -1;
	}
	d->cap = (int) len / 2 + 2;
	d->nodes = malloc(sizeof(jnode) * (size_t) d->cap);
	d->scap = len + 1;
	d->sbuf = malloc(d->scap);
	if (!d->nodes || !d->sbuf)
	{
		d->err = "out of memory";
		return -1;
	}
	d->p = text;
	d->end = text + len;
	if (parse_value(d, 0) != 0)
		return -1;
	skip_ws(d);
	if (d->p != d->end)
	{
		d->err = "not JSON (something after the value)";
		return -1;
	}
	return 0;
}

static void
jfree(jdoc *d)
{
	free(d->nodes);
	free(d->sbuf);
	d->nodes = NULL;
	d->sbuf = NULL;
}

#define J_OBJECT (J_ARR + 1)
/* a node's string for "%.*s" */
#define KS(n) (int) (n)->slen, (n)->s

static jnode *
member(jdoc *d, jnode *obj, const char *name)
{
	size_t		n = strlen(name);

	for (int c = obj->first; c >= 0; c = d->nodes[c].next)
		if (d->nodes[c].klen == n && memcmp(d->nodes[c].key, name, n) == 0)
			return &d->nodes[c];
	return NULL;
}

static int
str_is(jnode *n, const char *s)
{
	return n && n->type == J_STR && n->slen == strlen(s) && memcmp(n->s, s, n->slen) == 0;
}

static int
same_str(jnode *a, jnode *b)
{
	return a->slen == b->slen && memcmp(a->s, b->s, a->slen) == 0;
}

/* ---------------------------------------------------------------------------
 * Question definitions
 * ------------------------------------------------------------------------- */

static const char *const q_types[] = {
	"text", "long_text", "number", "date", "boolean", "single_select", "multi_select",
	"email", "phone", "country", "emergency_contact", "club"
};

enum
{
	T_TEXT, T_LONG_TEXT, T_NUMBER, T_DATE, T_BOOLEAN, T_SINGLE, T_MULTI,
	T_EMAIL, T_PHONE, T_COUNTRY, T_EMERGENCY, T_CLUB, T_COUNT
};

static int	fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list		ap;

	if (errlen > 0)
	{
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
valid_key(jnode *n)
{
	if (!n || n->type != J_STR || n->slen < 1 || n->slen > 40 || n->s[0] < 'a' || n->s[0] > 'z')
		return 0;
	for (size_t i = 1; i < n->slen; i++)
	{
		char		c = n->s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* a string without control characters (long: \n and \t allowed), chars in [lo, hi] */
static int
valid_text(jnode *n, long lo, long hi, int multiline)
{
	long		chars;

	if (!n || n->type != J_STR)
		return 0;
	for (size_t i = 0; i < n->slen; i++)
	{
		unsigned char c = (unsigned char) n->s[i];

		if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t'))) || c == 0x7F)
			return 0;
	}
	chars = sl_utf8_length(n->s, n->slen);
	return chars >= lo && chars <= hi;
}

/* a uuid as PostgreSQL prints it: 8-4-4-4-12 lowercase hex digits */
static int
valid_uuid(jnode *n)
{
	if (!n || n->type != J_STR || n->slen != 36)
		return 0;
	for (int i = 0; i < 36; i++)
	{
		char		c = n->s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (c != '-')
				return 0;
		}
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return 1;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

static int
valid_date(jnode *n)
{
	int			y, m, dd;

	if (!n || n->type != J_STR || n->slen != 10 || n->s[4] != '-' || n->s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (n->s[i] < '0' || n->s[i] > '9'))
			return 0;
	y = (n->s[0] - '0') * 1000 + (n->s[1] - '0') * 100 + (n->s[2] - '0') * 10 + (n->s[3] - '0');
	m = (n->s[5] - '0') * 10 + (n->s[6] - '0');
	dd = (n->s[8] - '0') * 10 + (n->s[9] - '0');
	return y >= 1900 && y <= 2200 && m >= 1 && m <= 12 && dd >= 1 && dd <= days_in_month(y, m);
}

static int
type_of(jnode *n)
{
	for (int t = 0; t < T_COUNT; t++)
		if (str_is(n, q_types[t]))
			return t;
	return -1;
}

static int
is_length_type(int t)
{
	return t == T_TEXT || t == T_LONG_TEXT || t == T_CLUB;
}

/* the checks of one definition; i is its position (from 1) for messages */
static int
check_question(jdoc *d, jnode *q, int i, char *err, size_t errlen)
{
	static const char *const allowed[] = {"key", "type", "label", "help", "required", "min", "max",
	"options", "condition", "ticket_types", "personal", NULL};
	jnode	   *key = member(d, q, "key");
	jnode	   *type = member(d, q, "type");
	jnode	   *req = member(d, q, "required");
	jnode	   *mn = member(d, q, "min");
	jnode	   *mx = member(d, q, "max");
	jnode	   *opts = member(d, q, "options");
	jnode	   *help = member(d, q, "help");
	jnode	   *tts = member(d, q, "ticket_types");
	int			t;

	for (int c = q->first; c >= 0; c = d->nodes[c].next)
	{
		int			known = 0;

		for (int a = 0; allowed[a]; a++)
			if (d->nodes[c].klen == strlen(allowed[a]) && memcmp(d->nodes[c].key, allowed[a], d->nodes[c].klen) == 0)
				known = 1;
		if (!known)
			return fail(err, errlen, "question %d: unknown field", i);
	}
	if (!valid_key(key))
		return fail(err, errlen, "question %d: key is 1 to 40 lowercase letters, digits or _, starting with a letter", i);
	t = type_of(type);
	if (t < 0)
		return fail(err, errlen, "question %.*s: unknown type", KS(key));
	if (!valid_text(member(d, q, "label"), 1, 200, 0))
		return fail(err, errlen, "question %.*s: label is 1 to 200 characters", KS(key));
	if (help && !valid_text(help, 0, 1000, 1))
		return fail(err, errlen, "question %.*s: help is at most 1000 characters", KS(key));
	if (req && req->type != J_TRUE && req->type != J_FALSE)
		return fail(err, errlen, "question %.*s: required is true or false", KS(key));
	{
		jnode	   *pers = member(d, q, "personal");

		if (pers && pers->type != J_TRUE && pers->type != J_FALSE)
			return fail(err, errlen, "question %.*s: personal is true or false", KS(key));
	}
	if (mn || mx)
	{
		if (t == T_DATE)
		{
			if ((mn && !valid_date(mn)) || (mx && !valid_date(mx)))
				return fail(err, errlen, "question %.*s: min and max of a date are dates YYYY-MM-DD", KS(key));
			if (mn && mx && memcmp(mn->s, mx->s, 10) > 0)
				return fail(err, errlen, "question %.*s: min is after max", KS(key));
		}
		else if (is_length_type(t) || t == T_NUMBER || t == T_MULTI)
		{
			if ((mn && mn->type != J_NUM) || (mx && mx->type != J_NUM))
				return fail(err, errlen, "question %.*s: min and max are numbers", KS(key));
			if (t != T_NUMBER && ((mn && (mn->num < 0 || mn->num > 100000 || mn->num != (double) (long) mn->num))
								  || (mx && (mx->num < 0 || mx->num > 100000 || mx->num != (double) (long) mx->num))))
				return fail(err, errlen, "question %.*s: min and max of a length or count are whole numbers 0 to 100000", KS(key));
			if (mn && mx && mn->num > mx->num)
				return fail(err, errlen, "question %.*s: min is above max", KS(key));
		}
		else
			return fail(err, errlen, "question %.*s: a %s question has no min or max", KS(key), q_types[t]);
	}
	if (t == T_SINGLE || t == T_MULTI)
	{
		if (!opts || opts->type != J_ARR || opts->count < 1 || opts->count > 100)
			return fail(err, errlen, "question %.*s: options is an array of 1 to 100 options", KS(key));
		for (int o = opts->first; o >= 0; o = d->nodes[o].next)
		{
			jnode	   *op = &d->nodes[o];
			jnode	   *ok;

			if (op->type != J_OBJECT || op->count != 2 || !valid_key(ok = member(d, op, "key"))
				|| !valid_text(member(d, op, "label"), 1, 200, 0))
				return fail(err, errlen, "question %.*s: an option is {\"key\": k, \"label\": 1 to 200 characters}", KS(key));
			for (int p = opts->first; p != o; p = d->nodes[p].next)
				if (same_str(member(d, &d->nodes[p], "key"), ok))
					return fail(err, errlen, "question %.*s: option %.*s twice", KS(key), KS(ok));
		}
	}
	else if (opts)
		return fail(err, errlen, "question %.*s: only select questions have options", KS(key));
	if (tts)
	{
		if (tts->type != J_ARR || tts->count < 1 || tts->count > 100)
			return fail(err, errlen, "question %.*s: ticket_types is an array of 1 to 100 ticket type ids", KS(key));
		for (int c = tts->first; c >= 0; c = d->nodes[c].next)
		{
			if (!valid_uuid(&d->nodes[c]))
				return fail(err, errlen, "question %.*s: ticket_types holds ticket type ids (lowercase uuids)", KS(key));
			for (int p = tts->first; p != c; p = d->nodes[p].next)
				if (same_str(&d->nodes[p], &d->nodes[c]))
					return fail(err, errlen, "question %.*s: a ticket type twice", KS(key));
		}
	}
	return 0;
}

/* the question with this key among the first `before` ones (all when -1) */
static jnode *
find_question(jdoc *d, jnode *arr, jnode *key, int before)
{
	int			i = 0;

	for (int c = arr->first; c >= 0 && (before < 0 || i < before); c = d->nodes[c].next, i++)
	{
		jnode	   *k = member(d, &d->nodes[c], "key");

		if (k && same_str(k, key))
			return &d->nodes[c];
	}
	return NULL;
}

static int
check_definitions(jdoc *d, char *err, size_t errlen)
{
	jnode	   *arr = &d->nodes[0];
	int			i = 0;

	if (arr->type != J_ARR || arr->count > SL_Q_MAX)
		return fail(err, errlen, "questions are an array of at most %d objects", SL_Q_MAX);
	for (int c = arr->first; c >= 0; c = d->nodes[c].next)
	{
		jnode	   *q = &d->nodes[c];
		jnode	   *cond;

		i++;
		if (q->type != J_OBJECT)
			return fail(err, errlen, "question %d: not an object", i);
		if (check_question(d, q, i, err, errlen) < 0)
			return -1;
		if (find_question(d, arr, member(d, q, "key"), i - 1))
			return fail(err, errlen, "question %.*s: the key is used twice", KS(member(d, q, "key")));
		cond = member(d, q, "condition");
		if (cond)
		{
			jnode	   *on = cond->type == J_OBJECT ? member(d, cond, "question") : NULL;
			jnode	   *eq = cond->type == J_OBJECT ? member(d, cond, "equals") : NULL;
			jnode	   *target;
			int			tt;

			if (!on || !eq || cond->count != 2 || !valid_key(on))
				return fail(err, errlen, "question %.*s: a condition is {\"question\": key, \"equals\": value}",
							KS(member(d, q, "key")));
			target = find_question(d, arr, on, i - 1);
			if (!target)
				return fail(err, errlen, "question %.*s: its condition names no earlier question",
							KS(member(d, q, "key")));
			tt = type_of(member(d, target, "type"));
			if (tt == T_SINGLE || tt == T_MULTI)
			{
				int			found = 0;

				for (int o = member(d, target, "options")->first; o >= 0; o = d->nodes[o].next)
					if (eq->type == J_STR && same_str(member(d, &d->nodes[o], "key"), eq))
						found = 1;
				if (!found)
					return fail(err, errlen, "question %.*s: its condition names no option of %.*s",
								KS(member(d, q, "key")), KS(on));
			}
			else if (tt == T_BOOLEAN ? (eq->type != J_TRUE && eq->type != J_FALSE)
					 : tt == T_NUMBER ? eq->type != J_NUM
					 : (tt == T_EMERGENCY || eq->type != J_STR))
				return fail(err, errlen, "question %.*s: its condition's value does not fit question %.*s",
							KS(member(d, q, "key")), KS(on));
		}
	}
	return 0;
}

int
sl_questions_check(const char *questions, size_t len, char *err, size_t errlen)
{
	jdoc		d;
	int			r;

	if (errlen > 0)
		err[0] = '\0';
	if (jparse(&d, questions, len) < 0)
	{
		r = fail(err, errlen, "questions: %s", d.err);
		jfree(&d);
		return r;
	}
	r = check_definitions(&d, err, errlen);
	jfree(&d);
	return r;
}

/* ---------------------------------------------------------------------------
 * Answers
 * ------------------------------------------------------------------------- */

static int
valid_phone_str(jnode *n)
{
	return n && n->type == J_STR && sl_valid_phone(n->s, n->slen);
}

static int
check_value(jdoc *qd, jnode *q, jdoc *ad, jnode *v, char *err, size_t errlen)
{
	jnode	   *key = member(qd, q, "key");
	jnode	   *mn = member(qd, q, "min");
	jnode	   *mx = member(qd, q, "max");
	int			t = type_of(member(qd, q, "type"));
	long		lo = mn ? (long) mn->num : 0;

	switch (t)
	{
		case T_TEXT:
		case T_CLUB:
		case T_LONG_TEXT:
			{
				long		hi = mx ? (long) mx->num : (t == T_LONG_TEXT ? 5000 : 200);

				if (!valid_text(v, lo, hi, t == T_LONG_TEXT))
					return fail(err, errlen, "answer %.*s: a text of %ld to %ld characters", KS(key), lo, hi);
				return 0;
			}
		case T_NUMBER:
			if (v->type != J_NUM || (mn && v->num < mn->num) || (mx && v->num > mx->num))
				return fail(err, errlen, "answer %.*s: a number%s", KS(key), (mn || mx) ? " within its bounds" : "");
			return 0;
		case T_DATE:
			if (!valid_date(v) || (mn && memcmp(v->s, mn->s, 10) < 0) || (mx && memcmp(v->s, mx->s, 10) > 0))
				return fail(err, errlen, "answer %.*s: a date YYYY-MM-DD%s", KS(key), (mn || mx) ? " within its bounds" : "");
			return 0;
		case T_BOOLEAN:
			if (v->type != J_TRUE && v->type != J_FALSE)
				return fail(err, errlen, "answer %.*s: true or false", KS(key));
			return 0;
		case T_SINGLE:
		case T_MULTI:
			{
				jnode	   *opts = member(qd, q, "options");
				int			n = 0;

				if (t == T_SINGLE ? v->type != J_STR : v->type != J_ARR)
					return fail(err, errlen, "answer %.*s: %s", KS(key), t == T_SINGLE ? "an option key" : "an array of option keys");
				for (int c = t == T_SINGLE ? -2 : v->first; c != -1; c = c == -2 ? -1 : ad->nodes[c].next)
				{
					jnode	   *choice = c == -2 ? v : &ad->nodes[c];
					int			found = 0;

					if (choice->type != J_STR)
						return fail(err, errlen, "answer %.*s: an array of option keys", KS(key));
					for (int o = opts->first; o >= 0; o = qd->nodes[o].next)
						if (same_str(member(qd, &qd->nodes[o], "key"), choice))
							found = 1;
					if (!found)
						return fail(err, errlen, "answer %.*s: not one of its options", KS(key));
					if (c >= 0)
						for (int p = v->first; p != c; p = ad->nodes[p].next)
							if (same_str(&ad->nodes[p], choice))
								return fail(err, errlen, "answer %.*s: an option chosen twice", KS(key));
					n++;
				}
				if (t == T_MULTI && ((mn && n < lo) || (mx && n > (long) mx->num)))
					return fail(err, errlen, "answer %.*s: between %ld and %ld choices", KS(key), lo, mx ? (long) mx->num : 100);
				return 0;
			}
		case T_EMAIL:
			if (v->type != J_STR || !sl_valid_email(v->s, v->slen))
				return fail(err, errlen, "answer %.*s: an e-mail address", KS(key));
			return 0;
		case T_PHONE:
			if (!valid_phone_str(v))
				return fail(err, errlen, "answer %.*s: a phone number", KS(key));
			return 0;
		case T_COUNTRY:
			if (v->type != J_STR || v->slen != 2 || !sl_valid_country(v->s, v->slen))
				return fail(err, errlen, "answer %.*s: a country code such as NL", KS(key));
			return 0;
		case T_EMERGENCY:
			if (v->type != J_OBJECT || v->count != 2 || !valid_text(member(ad, v, "name"), 1, 200, 0)
				|| !valid_phone_str(member(ad, v, "phone")))
				return fail(err, errlen, "answer %.*s: {\"name\": a name, \"phone\": a phone number}", KS(key));
			return 0;
	}
	return fail(err, errlen, "answer %.*s: unknown type", KS(key));
}

/* does question q apply to an entry of ticket type tt (NULL: none)? */
static int
applies(jdoc *qd, jnode *q, const char *tt, size_t ttlen)
{
	jnode	   *tts = member(qd, q, "ticket_types");

	if (!tts)
		return 1;
	if (!tt)
		return 0;
	for (int c = tts->first; c >= 0; c = qd->nodes[c].next)
		if (qd->nodes[c].slen == ttlen && memcmp(qd->nodes[c].s, tt, ttlen) == 0)
			return 1;
	return 0;
}

/* was question q asked, given the ticket type and the answers? */
static int
asked(jdoc *qd, jnode *q, jdoc *ad, const char *tt, size_t ttlen)
{
	jnode	   *cond = member(qd, q, "condition");
	jnode	   *on;
	jnode	   *eq;
	jnode	   *v;

	if (!applies(qd, q, tt, ttlen))
		return 0;
	if (!cond)
		return 1;
	on = member(qd, cond, "question");
	eq = member(qd, cond, "equals");
	for (int c = ad->nodes[0].first; c >= 0; c = ad->nodes[c].next)
	{
		v = &ad->nodes[c];
		if (v->klen != on->slen || memcmp(v->key, on->s, on->slen) != 0)
			continue;
		/* the question it depends on must itself have been asked */
		if (!asked(qd, find_question(qd, &qd->nodes[0], on, -1), ad, tt, ttlen))
			return 0;
		if (v->type == J_ARR)
		{
			for (int e = v->first; e >= 0; e = ad->nodes[e].next)
				if (ad->nodes[e].type == J_STR && eq->type == J_STR && same_str(&ad->nodes[e], eq))
					return 1;
			return 0;
		}
		if (v->type != eq->type)
			return 0;
		if (v->type == J_STR)
			return same_str(v, eq);
		if (v->type == J_NUM)
			return v->num == eq->num;
		return 1;				/* true == true, false == false */
	}
	return 0;
}

int
sl_answers_check(const char *questions, size_t qlen, const char *answers, size_t alen, char *err, size_t errlen)
{
	return sl_answers_check_for(questions, qlen, answers, alen, NULL, 0, err, errlen);
}

int
sl_answers_check_for(const char *questions, size_t qlen, const char *answers, size_t alen,
					 const char *tt, size_t ttlen, char *err, size_t errlen)
{
	jdoc		qd;
	jdoc		ad;
	int			r = 0;

	if (errlen > 0)
		err[0] = '\0';
	memset(&ad, 0, sizeof(ad));
	if (jparse(&qd, questions, qlen) < 0)
	{
		r = fail(err, errlen, "questions: %s", qd.err);
		goto done;
	}
	if (check_definitions(&qd, err, errlen) < 0)
	{
		r = -1;
		goto done;
	}
	if (jparse(&ad, answers, alen) < 0)
	{
		r = fail(err, errlen, "answers: %s", ad.err);
		goto done;
	}
	if (ad.nodes[0].type != J_OBJECT)
	{
		r = fail(err, errlen, "answers are an object {question key: answer}");
		goto done;
	}
	/* every answer names a question that was asked, and fits it */
	for (int c = ad.nodes[0].first; c >= 0; c = ad.nodes[c].next)
	{
		jnode	   *v = &ad.nodes[c];
		jnode		k;
		jnode	   *q;

		memset(&k, 0, sizeof(k));
		k.type = J_STR;
		k.s = v->key;
		k.slen = v->klen;
		q = find_question(&qd, &qd.nodes[0], &k, -1);
		if (!q)
		{
			r = valid_key(&k) ? fail(err, errlen, "answer %.*s: no such question", KS(&k))
				: fail(err, errlen, "an answer names no question");
			goto done;
		}
		if (v->type == J_NULL)
			continue;
		if (!applies(&qd, q, tt, ttlen))
		{
			r = fail(err, errlen, "answer %.*s: the question is not for this ticket type",
					 KS(member(&qd, q, "key")));
			goto done;
		}
		if (!asked(&qd, q, &ad, tt, ttlen))
		{
			r = fail(err, errlen, "answer %.*s: the question was not asked (its condition is not met)",
					 KS(member(&qd, q, "key")));
			goto done;
		}
		if (check_value(&qd, q, &ad, v, err, errlen) < 0)
		{
			r = -1;
			goto done;
		}
	}
	/* every required question that was asked is answered */
	for (int c = qd.nodes[0].first; c >= 0; c = qd.nodes[c].next)
	{
		jnode	   *q = &qd.nodes[c];
		jnode	   *key = member(&qd, q, "key");
		jnode	   *v = NULL;

		if (!member(&qd, q, "required") || member(&qd, q, "required")->type != J_TRUE || !asked(&qd, q, &ad, tt, ttlen))
			continue;
		for (int a = ad.nodes[0].first; a >= 0; a = ad.nodes[a].next)
			if (ad.nodes[a].klen == key->slen && memcmp(ad.nodes[a].key, key->s, key->slen) == 0)
				v = &ad.nodes[a];
		if (!v || v->type == J_NULL || (v->type == J_STR && v->slen == 0) || (v->type == J_ARR && v->count == 0))
		{
			r = fail(err, errlen, "answer %.*s: required", KS(key));
			goto done;
		}
	}
done:
	jfree(&qd);
	jfree(&ad);
	return r;
}
