/*
 * sl_label.c - parsers for the retention label language (see sl_label.h).
 */
#include "sl_label.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const pii_kinds[SL_PII_NKINDS] = {
	"name", "email", "phone", "address", "date_of_birth", "free_text",
	"company", "identifier", "ip", "attribute"
};
static const char *const classes[SL_CLASS_N] = {
	"archive", "personal", "operational", "fiscal"
};
static const char *const expires[] = {"anonymize", "destroy", "keep"};

const char *
sl_pii_kind_name(sl_pii_kind kind)
{
	return (kind >= 0 && kind < SL_PII_NKINDS) ? pii_kinds[kind] : "?";
}

const char *
sl_classification_name(sl_classification c)
{
	return (c >= 0 && c < SL_CLASS_N) ? classes[c] : "?";
}

const char *
sl_expire_name(sl_expire_action a)
{
	return (a >= SL_EXPIRE_ANONYMIZE && a <= SL_EXPIRE_KEEP) ? expires[a] : "?";
}

static int
fail(char *err, size_t errlen, const char *fmt,...)
__attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt,...)
{
	va_list		ap;

	if (err && errlen)
	{
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* trim spaces from both ends of [*p, *p + *n) */
static void
trim(const char **p, size_t *n)
{
	while (*n && is_space(**p))
	{
		(*p)++;
		(*n)--;
	}
	while (*n && is_space((*p)[*n - 1]))
		(*n)--;
}

/* index of the word in list, or -1 */
static int
lookup(const char *s, size_t n, const char *const *list, int count)
{
	int			i;

	for (i = 0; i < count; i++)
		if (strlen(list[i]) == n && memcmp(list[i], s, n) == 0)
			return i;
	return -1;
}

/* a plain lowercase SQL identifier: [a-z_][a-z0-9_$]*, at most 63 bytes */
static int
valid_ident(const char *s, size_t n)
{
	size_t		i;

	if (n == 0 || n > SL_LABEL_IDENT_MAX)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
			  s[i] == '_' || s[i] == '$'))
			return 0;
	return 1;
}

/* printable excerpt of untrusted text for an error message */
static const char *
excerpt(const char *s, size_t n, char *buf, size_t buflen)
{
	size_t		i,
				o = 0;

	for (i = 0; i < n && o + 4 < buflen; i++)
		buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (i < n && o + 3 < buflen)
	{
		buf[o++] = '.';
		buf[o++] = '.';
		buf[o++] = '.';
	}
	buf[o] = '\0';
	return buf;
}

int
sl_parse_column_label(const char *s, size_t len, sl_column_label *out,
					  char *err, size_t errlen)
{
	const char *p;
	const char *end;
	size_t		n;
	int			k;
	char		ex[40];

	if (s == NULL || out == NULL)
		return fail(err, errlen, "The label is empty.");
	if (len > SL_LABEL_MAX)
		return fail(err, errlen, "The label is longer than %d bytes.", SL_LABEL_MAX);
	memset(out, 0, sizeof(*out));
	trim(&s, &len);
	if (len < 4 || memcmp(s, "pii:", 4) != 0)
		return fail(err, errlen, "A column label has the form pii:<kind>[;required], not \"%s\".",
					excerpt(s, len, ex, sizeof(ex)));
	p = s + 4;
	end = s + len;
	/* the kind runs up to ';' or the end */
	n = 0;
	while (p + n < end && p[n] != ';')
		n++;
	{
		const char *kp = p;
		size_t		kn = n;

		trim(&kp, &kn);
		k = lookup(kp, kn, pii_kinds, SL_PII_NKINDS);
		if (k < 0)
			return fail(err, errlen,
						"Unknown kind of personal data \"%s\"; use name, email, phone, address, "
						"date_of_birth, free_text, company, identifier, ip or attribute.",
						excerpt(kp, kn, ex, sizeof(ex)));
		out->kind = (sl_pii_kind) k;
	}
	p += n;
	while (p < end)
	{
		const char *fp;
		size_t		fn = 0;

		p++;					/* the ';' */
		fp = p;
		while (p + fn < end && p[fn] != ';')
			fn++;
		p += fn;
		trim(&fp, &fn);
		if (fn == 8 && memcmp(fp, "required", 8) == 0)
		{
			if (out->required)
				return fail(err, errlen, "The option required appears twice.");
			out->required = 1;
		}
		else
			return fail(err, errlen, "Unknown column label option \"%s\"; the only option is required.",
						excerpt(fp, fn, ex, sizeof(ex)));
	}
	return 1;
}

enum
{
	K_CLASSIFICATION, K_ORGANIZATION, K_ANCHOR, K_SUBJECT, K_RESULT, K_EXPIRE,
	K_SUBJECT_TYPE, K_STATUS, K_UNTIL, K_ANONYMIZED_AT, K_IN_USE, K_PERSONAL_CLEARED, K_N
};
static const char *const keys[K_N] = {
	"classification", "organization", "anchor", "subject", "result", "expire",
	"subject_type", "status", "until", "anonymized_at", "in_use", "personal_cleared"
};

int
sl_parse_table_label(const char *s, size_t len, sl_table_label *out,
					 char *err, size_t errlen)
{
	const char *p;
	const char *end;
	int			seen[K_N] = {0};
	char		ex[40];
	char	   *cols[K_N] = {0};

	if (s == NULL || out == NULL)
		return fail(err, errlen, "The label is empty.");
	if (len > SL_LABEL_MAX)
		return fail(err, errlen, "The label is longer than %d bytes.", SL_LABEL_MAX);
	memset(out, 0, sizeof(*out));
	cols[K_ORGANIZATION] = out->organization;
	cols[K_ANCHOR] = out->anchor;
	cols[K_SUBJECT] = out->subject;
	cols[K_RESULT] = out->result;
	cols[K_STATUS] = out->status;
	cols[K_UNTIL] = out->until;
	cols[K_ANONYMIZED_AT] = out->anonymized_at;
	cols[K_IN_USE] = out->in_use;
	cols[K_PERSONAL_CLEARED] = out->personal_cleared;

	p = s;
	end = s + len;
	while (p < end)
	{
		const char *kp = p,
				   *vp;
		size_t		n = 0,
					kn,
					vn;
		const char *eq;
		int			k,
					v;

		while (p + n < end && p[n] != ';')
			n++;
		p += n;
		if (p < end)
			p++;				/* the ';' */
		trim(&kp, &n);
		if (n == 0)
			continue;			/* empty pair: "a=b;" or ";;" */
		eq = memchr(kp, '=', n);
		if (eq == NULL)
			return fail(err, errlen, "Expected key=value, found \"%s\".", excerpt(kp, n, ex, sizeof(ex)));
		kn = (size_t) (eq - kp);
		vp = eq + 1;
		vn = n - kn - 1;
		trim(&kp, &kn);
		trim(&vp, &vn);
		k = lookup(kp, kn, keys, K_N);
		if (k < 0)
			return fail(err, errlen,
						"Unknown key \"%s\"; the keys are classification, organization, anchor, subject, "
						"result, expire, subject_type, status, until, anonymized_at, in_use and personal_cleared.",
						excerpt(kp, kn, ex, sizeof(ex)));
		if (seen[k]++)
			return fail(err, errlen, "The key %s appears twice.", keys[k]);
		switch (k)
		{
			case K_CLASSIFICATION:
				v = lookup(vp, vn, classes, SL_CLASS_N);
				if (v < 0)
					return fail(err, errlen,
								"Unknown classification \"%s\"; use archive, personal, operational or fiscal.",
								excerpt(vp, vn, ex, sizeof(ex)));
				out->classification = (sl_classification) v;
				break;
			case K_EXPIRE:
				v = lookup(vp, vn, expires, 3);
				if (v < 0)
					return fail(err, errlen, "Unknown expire action \"%s\"; use anonymize, destroy or keep.",
								excerpt(vp, vn, ex, sizeof(ex)));
				out->expire = (sl_expire_action) v;
				break;
			case K_SUBJECT_TYPE:
				if (vn == 6 && memcmp(vp, "person", 6) == 0)
					out->company_subject = 0;
				else if (vn == 7 && memcmp(vp, "company", 7) == 0)
					out->company_subject = 1;
				else
					return fail(err, errlen, "Unknown subject_type \"%s\"; use person or company.",
								excerpt(vp, vn, ex, sizeof(ex)));
				break;
			default:
				if (!valid_ident(vp, vn))
					return fail(err, errlen,
								"The value of %s must be a lowercase column name, not \"%s\".",
								keys[k], excerpt(vp, vn, ex, sizeof(ex)));
				memcpy(cols[k], vp, vn);
				cols[k][vn] = '\0';
				break;
		}
	}
	if (!seen[K_CLASSIFICATION])
		return fail(err, errlen, "A table label needs classification=archive|personal|operational|fiscal.");
	if (!seen[K_ORGANIZATION])
		return fail(err, errlen, "A table label needs organization=<column> naming the owning organisation.");
	if (!seen[K_ANCHOR])
		return fail(err, errlen, "A table label needs anchor=<column>: the date the retention period counts from.");
	if (seen[K_PERSONAL_CLEARED] && out->classification != SL_CLASS_ARCHIVE && out->classification != SL_CLASS_FISCAL)
		return fail(err, errlen, "personal_cleared applies to archive and fiscal tables only; "
					"a personal or operational record is anonymised whole when its period ends.");
	if (!seen[K_STATUS])
		strcpy(out->status, "archive_status");
	if (!seen[K_UNTIL])
		strcpy(out->until, "retention_until");
	if (!seen[K_ANONYMIZED_AT])
		strcpy(out->anonymized_at, "anonymized_at");
	return 1;
}

size_t
sl_pseudonym_letters(long n, char *buf, size_t buflen)
{
	char		tmp[16];
	size_t		k = 0,
				i;

	if (n < 1 || buf == NULL || buflen == 0)
		return 0;
	while (n > 0 && k < sizeof(tmp))
	{
		n--;
		tmp[k++] = (char) ('A' + n % 26);
		n /= 26;
	}
	if (k + 1 > buflen)
		return 0;
	for (i = 0; i < k; i++)
		buf[i] = tmp[k - 1 - i];
	buf[k] = '\0';
	return k;
}
