/*
 * sl_webhook.c - payment provider webhook signatures. See sl_webhook.h.
 */
#include "sl_webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

const char *
sl_wh_result_name(sl_wh_result r)
{
	switch (r)
	{
		case SL_WH_OK:
			return "ok";
		case SL_WH_MISSING_HEADER:
			return "missing_header";
		case SL_WH_MALFORMED_HEADER:
			return "malformed_header";
		case SL_WH_TIMESTAMP_EXPIRED:
			return "timestamp_expired";
		case SL_WH_TIMESTAMP_FUTURE:
			return "timestamp_future";
		case SL_WH_BAD_SIGNATURE:
			return "bad_signature";
		case SL_WH_NO_SECRET:
			return "no_secret";
	}
	return "unknown";
}

int64_t
sl_wh_parse_timestamp(const char *s, size_t len)
{
	int64_t		v = 0;

	/* at most 12 digits: far beyond any clock, far from overflow */
	if (len == 0 || len > 12 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static sl_wh_result
check_time(int64_t t, int64_t now, int64_t tolerance)
{
	if (t < now - tolerance)
		return SL_WH_TIMESTAMP_EXPIRED;
	if (t > now + tolerance)
		return SL_WH_TIMESTAMP_FUTURE;
	return SL_WH_OK;
}

/* decode all of s as base64, padded or not, into at most cap bytes; the
 * decoded length, or 0 when it is not base64 or does not fit */
static size_t
b64_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
	size_t		got = 0;
	const char *end = NULL;

	if (len == 0)
		return 0;
	if (sodium_base642bin(out, cap, s, len, NULL, &got, &end,
						  sodium_base64_VARIANT_ORIGINAL) == 0 && end == s + len)
		return got;
	if (sodium_base642bin(out, cap, s, len, NULL, &got, &end,
						  sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0 && end == s + len)
		return got;
	return 0;
}

/* decode exactly want bytes of base64; 0 on success */
static int
b64_exact(const char *s, size_t len, uint8_t *out, size_t want)
{
	return b64_decode(s, len, out, want) == want ? 0 : -1;
}

static int
hex_exact(const char *s, size_t len, uint8_t *out, size_t want)
{
	size_t		got = 0;
	const char *end = NULL;

	if (len != want * 2)
		return -1;
	if (sodium_hex2bin(out, want, s, len, NULL, &got, &end) != 0 || got != want || end != s + len)
		return -1;
	return 0;
}

/* HMAC-SHA256 over up to three parts joined by '.' */
static void
hmac3(const sl_wh_secret *k, const char *a, size_t alen, const char *b, size_t blen,
	  const char *c, size_t clen, uint8_t mac[32])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, k->key, k->len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *) a, alen);
	if (b)
	{
		crypto_auth_hmacsha256_update(&st, (const unsigned char *) ".", 1);
		crypto_auth_hmacsha256_update(&st, (const unsigned char *) b, blen);
	}
	if (c)
	{
		crypto_auth_hmacsha256_update(&st, (const unsigned char *) ".", 1);
		crypto_auth_hmacsha256_update(&st, (const unsigned char *) c, clen);
	}
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof st);
}

/*
 * The first HMAC secret whose MAC over a[.b[.c]] equals one of sigs, or -1.
 * Every secret is tried against every signature (no early exit).
 */
static int
hmac_match(const sl_wh_secret *secrets, int nsecrets, const char *a, size_t alen,
		   const char *b, size_t blen, const char *c, size_t clen,
		   const uint8_t (*sigs)[32], int nsig)
{
	int			found = -1;

	for (int k = 0; k < nsecrets; k++)
	{
		uint8_t		mac[32];

		if (secrets[k].kind != SL_WH_KEY_HMAC)
			continue;
		hmac3(&secrets[k], a, alen, b, blen, c, clen, mac);
		for (int s = 0; s < nsig; s++)
			if (sodium_memcmp(mac, sigs[s], 32) == 0 && found < 0)
				found = k;
		sodium_memzero(mac, sizeof mac);
	}
	return found;
}

/* ------------------------------------------------------------------ Stripe */

sl_wh_result
sl_wh_stripe_parse(const char *h, size_t len, sl_wh_stripe_header *out)
{
	size_t		i = 0;
	int			have_t = 0;

	memset(out, 0, sizeof *out);
	if (h == NULL || len == 0)
		return SL_WH_MISSING_HEADER;
	if (len > SL_WH_MAX_HEADER)
		return SL_WH_MALFORMED_HEADER;
	while (i <= len)
	{
		size_t		start = i,
					eq;
		const char *item;
		size_t		ilen;

		while (i < len && h[i] != ',')
			i++;
		item = h + start;
		ilen = i - start;
		i++;					/* past the comma (or the end) */
		for (eq = 0; eq < ilen && item[eq] != '='; eq++)
			;
		if (eq == ilen)
			return SL_WH_MALFORMED_HEADER;	/* every item is key=value */
		if (eq == 1 && item[0] == 't')
		{
			if (have_t)
				return SL_WH_MALFORMED_HEADER;
			out->t = sl_wh_parse_timestamp(item + 2, ilen - 2);
			if (out->t < 0)
				return SL_WH_MALFORMED_HEADER;
			have_t = 1;
		}
		else if (eq == 2 && item[0] == 'v' && item[1] == '1')
		{
			if (out->nsig == SL_WH_MAX_SIGS)
				return SL_WH_MALFORMED_HEADER;
			if (hex_exact(item + 3, ilen - 3, out->sig[out->nsig], 32) != 0)
				return SL_WH_MALFORMED_HEADER;
			out->nsig++;
		}
		/* other keys (v0, future schemes) are ignored */
	}
	if (!have_t || out->nsig == 0)
		return SL_WH_MALFORMED_HEADER;
	return SL_WH_OK;
}

sl_wh_result
sl_wh_stripe_verify(const sl_wh_secret *secrets, int nsecrets,
					const char *header, size_t hlen,
					const char *body, size_t blen,
					int64_t now, int64_t tolerance, int *matched)
{
	sl_wh_stripe_header hd;
	sl_wh_result r;
	char		tbuf[24];
	size_t		tlen;
	int			found = -1;

	*matched = -1;
	r = sl_wh_stripe_parse(header, hlen, &hd);
	if (r != SL_WH_OK)
		return r;
	/* the timestamp exactly as sent (parse accepted only canonical digits) */
	tlen = (size_t) snprintf(tbuf, sizeof tbuf, "%lld", (long long) hd.t);
	if (nsecrets <= 0)
		return SL_WH_NO_SECRET;
	found = hmac_match(secrets, nsecrets, tbuf, tlen, body, blen, NULL, 0,
					   (const uint8_t (*)[32]) hd.sig, hd.nsig);
	if (found < 0)
		return SL_WH_BAD_SIGNATURE;
	*matched = found;
	return check_time(hd.t, now, tolerance);
}

/* ------------------------------------------------------- Standard Webhooks */

sl_wh_result
sl_wh_std_parse(const char *h, size_t len, sl_wh_std_header *out)
{
	size_t		i = 0;

	memset(out, 0, sizeof *out);
	if (h == NULL || len == 0)
		return SL_WH_MISSING_HEADER;
	if (len > SL_WH_MAX_HEADER)
		return SL_WH_MALFORMED_HEADER;
	while (i < len)
	{
		size_t		start,
					tlen,
					comma;
		const char *tok;
		int			version;

		if (h[i] == ' ')
		{
			i++;
			continue;
		}
		start = i;
		while (i < len && h[i] != ' ')
			i++;
		tok = h + start;
		tlen = i - start;
		for (comma = 0; comma < tlen && tok[comma] != ','; comma++)
			;
		if (comma == tlen || comma == 0)
			return SL_WH_MALFORMED_HEADER;
		/* v1: HMAC-SHA256 (32 bytes), v1a: Ed25519 (64); others are ignored */
		version = (comma == 2 && memcmp(tok, "v1", 2) == 0) ? 1 :
			(comma == 3 && memcmp(tok, "v1a", 3) == 0) ? 2 : 0;
		if (version != 0)
		{
			if (out->nsig == SL_WH_MAX_SIGS ||
				b64_exact(tok + comma + 1, tlen - comma - 1, out->sigs[out->nsig].sig,
						  version == 1 ? 32 : 64) != 0)
				return SL_WH_MALFORMED_HEADER;
			out->sigs[out->nsig++].version = version;
		}
	}
	if (out->nsig == 0)
		return SL_WH_MALFORMED_HEADER;
	return SL_WH_OK;
}

size_t
sl_wh_std_decode_secret(const char *s, size_t len, uint8_t *out, size_t cap,
						sl_wh_key_kind *kind)
{
	if (len > 6 && memcmp(s, "whsec_", 6) == 0)
	{
		size_t		got = b64_decode(s + 6, len - 6, out, cap);

		/* the spec's secrets are 24 to 64 bytes */
		if (got >= 24 && got <= 64)
		{
			*kind = SL_WH_KEY_HMAC;
			return got;
		}
		sodium_memzero(out, cap);
		return 0;
	}
	if (len > 5 && memcmp(s, "whpk_", 5) == 0 && cap >= 32)
	{
		if (b64_exact(s + 5, len - 5, out, 32) == 0)
		{
			*kind = SL_WH_KEY_ED25519;
			return 32;
		}
		return 0;
	}
	return 0;
}

sl_wh_result
sl_wh_std_verify(const sl_wh_secret *secrets, int nsecrets,
				 const char *id, size_t idlen,
				 const char *ts, size_t tslen,
				 const char *header, size_t hlen,
				 const char *body, size_t blen,
				 int64_t now, int64_t tolerance, int *matched)
{
	sl_wh_std_header hd;
	sl_wh_result r;
	int64_t		t;
	int			found = -1;

	*matched = -1;
	if (id == NULL || idlen == 0 || ts == NULL || tslen == 0)
		return SL_WH_MISSING_HEADER;
	r = sl_wh_std_parse(header, hlen, &hd);
	if (r != SL_WH_OK)
		return r;
	if (idlen > SL_WH_MAX_ID)
		return SL_WH_MALFORMED_HEADER;
	for (size_t i = 0; i < idlen; i++)
		if (id[i] < 0x21 || id[i] > 0x7e)
			return SL_WH_MALFORMED_HEADER;
	t = sl_wh_parse_timestamp(ts, tslen);
	if (t < 0)
		return SL_WH_MALFORMED_HEADER;
	if (nsecrets <= 0)
		return SL_WH_NO_SECRET;
	{
		uint8_t		v1[SL_WH_MAX_SIGS][32];
		int			n1 = 0,
					n1a = 0;

		for (int s = 0; s < hd.nsig; s++)
		{
			if (hd.sigs[s].version == 1)
				memcpy(v1[n1++], hd.sigs[s].sig, 32);
			else
				n1a++;
		}
		found = hmac_match(secrets, nsecrets, id, idlen, ts, tslen, body, blen,
						   (const uint8_t (*)[32]) v1, n1);
		/* Ed25519 needs the signed content id.ts.body in one buffer */
		if (found < 0 && n1a > 0)
		{
			size_t		mlen = idlen + 1 + tslen + 1 + blen;
			unsigned char *msg = malloc(mlen);

			if (msg == NULL)
				return SL_WH_BAD_SIGNATURE;
			memcpy(msg, id, idlen);
			msg[idlen] = '.';
			memcpy(msg + idlen + 1, ts, tslen);
			msg[idlen + 1 + tslen] = '.';
			if (blen)
				memcpy(msg + idlen + tslen + 2, body, blen);
			for (int s = 0; s < hd.nsig && found < 0; s++)
				for (int k = 0; k < nsecrets && found < 0 && hd.sigs[s].version == 2; k++)
					if (secrets[k].kind == SL_WH_KEY_ED25519 &&
						secrets[k].len == crypto_sign_PUBLICKEYBYTES &&
						crypto_sign_verify_detached(hd.sigs[s].sig, msg, mlen, secrets[k].key) == 0)
						found = k;
			free(msg);
		}
	}
	if (found < 0)
		return SL_WH_BAD_SIGNATURE;
	*matched = found;
	return check_time(t, now, tolerance);
}

/* ------------------------------------------------------- Mollie (next-gen) */

sl_wh_result
sl_wh_mollie_parse(const char *h, size_t len, uint8_t sig[32])
{
	if (h == NULL || len == 0)
		return SL_WH_MISSING_HEADER;
	if (len > 7 && memcmp(h, "sha256=", 7) == 0)
	{
		h += 7;
		len -= 7;
	}
	if (hex_exact(h, len, sig, 32) != 0)
		return SL_WH_MALFORMED_HEADER;
	return SL_WH_OK;
}

sl_wh_result
sl_wh_mollie_verify(const sl_wh_secret *secrets, int nsecrets,
					const char *header, size_t hlen,
					const char *body, size_t blen, int *matched)
{
	uint8_t		sig[32];
	sl_wh_result r;
	int			found = -1;

	*matched = -1;
	r = sl_wh_mollie_parse(header, hlen, sig);
	if (r != SL_WH_OK)
		return r;
	if (nsecrets <= 0)
		return SL_WH_NO_SECRET;
	found = hmac_match(secrets, nsecrets, body, blen, NULL, 0, NULL, 0,
					   (const uint8_t (*)[32]) &sig, 1);
	if (found < 0)
		return SL_WH_BAD_SIGNATURE;
	*matched = found;
	return SL_WH_OK;
}

/* a byte string contains a lowercase ASCII word */
static int
contains(const char *s, size_t len, const char *word)
{
	size_t		n = strlen(word),
				i;

	for (i = 0; i + n <= len; i++)
		if (memcmp(s + i, word, n) == 0)
			return 1;
	return 0;
}

int
sl_wh_header_kept(const char *name, size_t len)
{
	static const char *const signature_headers[] = {
		"stripe-signature", "webhook-id", "webhook-timestamp", "webhook-signature", "x-mollie-signature",
	};
	static const char *const credential_words[] = {
		"auth", "key", "token", "secret", "cookie", "session", "password", "passwd", "credential",
		"signature", "prefer",
	};
	size_t		i;

	if (name == NULL || len == 0 || len > SL_WH_HEADER_NAME_MAX)
		return 0;
	for (i = 0; i < sizeof(signature_headers) / sizeof(signature_headers[0]); i++)
		if (strlen(signature_headers[i]) == len && memcmp(signature_headers[i], name, len) == 0)
			return 1;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) name[i];

		/* header names are lowercased tokens (RFC 9110): anything else is not kept */
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return 0;
	}
	for (i = 0; i < sizeof(credential_words) / sizeof(credential_words[0]); i++)
		if (contains(name, len, credential_words[i]))
			return 0;
	return 1;
}
