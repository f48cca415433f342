/*
 * sl_token.c - secret token text and signed code bytes (see sl_token.h).
 *
 * Pure C on libsodium (base64url, memory wiping); no PostgreSQL headers.
 */
#include "sl_token.h"

#include <string.h>

#include <sodium.h>

/* ---- CRC32 (reflected 0xEDB88320, init and xorout 0xFFFFFFFF) ---------- */

static uint32_t crc_table[256];
static int	crc_ready;

static void
crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++)
	{
		uint32_t	c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
	crc_ready = 1;
}

uint32_t
sl_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!crc_ready)
		crc_init();
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

/* ---- secret tokens --------------------------------------------------- */

int
sl_token_prefix_ok(const char *prefix, size_t len)
{
	if (prefix == NULL || len < SL_TOKEN_PREFIX_MIN || len > SL_TOKEN_PREFIX_MAX)
		return 0;
	if (!(prefix[0] >= 'a' && prefix[0] <= 'z'))
		return 0;
	for (size_t i = 1; i < len; i++)
	{
		char		c = prefix[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

static uint32_t
token_crc(const char *prefix, size_t prefix_len, const uint8_t *secret)
{
	uint32_t	crc = sl_crc32(0, prefix, prefix_len);

	crc = sl_crc32(crc, "_", 1);
	return sl_crc32(crc, secret, SL_TOKEN_SECRET_BYTES);
}

size_t
sl_token_encode(const char *prefix, size_t prefix_len,
				const uint8_t secret[SL_TOKEN_SECRET_BYTES], char *out)
{
	uint8_t		raw[SL_TOKEN_SECRET_BYTES + 4];
	uint32_t	crc;
	char		b64[SL_TOKEN_BODY_CHARS + 1];

	if (!sl_token_prefix_ok(prefix, prefix_len))
		return 0;
	crc = token_crc(prefix, prefix_len, secret);
	memcpy(raw, secret, SL_TOKEN_SECRET_BYTES);
	raw[32] = (uint8_t) (crc >> 24);
	raw[33] = (uint8_t) (crc >> 16);
	raw[34] = (uint8_t) (crc >> 8);
	raw[35] = (uint8_t) crc;
	sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	memcpy(out, prefix, prefix_len);
	out[prefix_len] = '_';
	memcpy(out + prefix_len + 1, b64, SL_TOKEN_BODY_CHARS);
	out[prefix_len + 1 + SL_TOKEN_BODY_CHARS] = '\0';
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(b64, sizeof b64);
	return prefix_len + 1 + SL_TOKEN_BODY_CHARS;
}

static int
b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '_';
}

sl_token_status
sl_token_decode(const char *text, size_t len, const char *prefix, size_t prefix_len,
				uint8_t secret_out[SL_TOKEN_SECRET_BYTES])
{
	const char *us;
	size_t		plen;
	uint8_t		raw[SL_TOKEN_SECRET_BYTES + 4];
	size_t		got = 0;
	const char *end = NULL;
	uint32_t	crc,
				want;
	sl_token_status st;

	if (text == NULL || len == 0 || len > SL_TOKEN_TEXT_MAX)
		return SL_TOKEN_BAD_SHAPE;
	us = memchr(text, '_', len < SL_TOKEN_PREFIX_MAX + 1 ? len : SL_TOKEN_PREFIX_MAX + 1);
	if (us == NULL)
		return SL_TOKEN_BAD_SHAPE;
	plen = (size_t) (us - text);
	if (!sl_token_prefix_ok(text, plen) || len - plen - 1 != SL_TOKEN_BODY_CHARS)
		return SL_TOKEN_BAD_SHAPE;
	for (size_t i = plen + 1; i < len; i++)
		if (!b64url_char(text[i]))
			return SL_TOKEN_BAD_SHAPE;
	/* 48 characters carry exactly 36 bytes: no leftover bits to check */
	if (sodium_base642bin(raw, sizeof raw, us + 1, SL_TOKEN_BODY_CHARS, NULL, &got, &end,
						  sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
		got != sizeof raw || end != text + len)
	{
		sodium_memzero(raw, sizeof raw);
		return SL_TOKEN_BAD_SHAPE;
	}
	if (plen != prefix_len || memcmp(text, prefix, plen) != 0)
		st = SL_TOKEN_WRONG_PREFIX;
	else
	{
		crc = token_crc(text, plen, raw);
		want = ((uint32_t) raw[32] << 24) | ((uint32_t) raw[33] << 16) |
			((uint32_t) raw[34] << 8) | raw[35];
		st = crc == want ? SL_TOKEN_OK : SL_TOKEN_BAD_CHECKSUM;
		memcpy(secret_out, raw, SL_TOKEN_SECRET_BYTES);
	}
	sodium_memzero(raw, sizeof raw);
	return st;
}

/* ---- base45 (RFC 9285) ------------------------------------------------ */

static const char b45_alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

static int
b45_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(b45_alphabet, c);
	return p ? (int) (p - b45_alphabet) : -1;
}

size_t
sl_base45_encode(const uint8_t *in, size_t n, char *out)
{
	size_t		o = 0;
	size_t		i;

	for (i = 0; i + 1 < n; i += 2)
	{
		unsigned	v = (unsigned) in[i] * 256u + in[i + 1];

		out[o++] = b45_alphabet[v % 45];
		out[o++] = b45_alphabet[(v / 45) % 45];
		out[o++] = b45_alphabet[v / 2025];
	}
	if (i < n)
	{
		unsigned	v = in[i];

		out[o++] = b45_alphabet[v % 45];
		out[o++] = b45_alphabet[v / 45];
	}
	out[o] = '\0';
	return o;
}

long
sl_base45_decode(const char *in, size_t n, uint8_t *out, size_t outcap)
{
	size_t		o = 0;
	size_t		i;

	if (n % 3 == 1)
		return -1;
	if ((n / 3) * 2 + (n % 3 == 2 ? 1 : 0) > outcap)
		return -1;
	for (i = 0; i + 2 < n; i += 3)
	{
		int			c = b45_value(in[i]),
					d = b45_value(in[i + 1]),
					e = b45_value(in[i + 2]);
		unsigned	v;

		if (c < 0 || d < 0 || e < 0)
			return -1;
		v = (unsigned) c + (unsigned) d * 45u + (unsigned) e * 2025u;
		if (v > 0xFFFF)
			return -1;
		out[o++] = (uint8_t) (v >> 8);
		out[o++] = (uint8_t) v;
	}
	if (i < n)
	{
		int			c = b45_value(in[i]),
					d = b45_value(in[i + 1]);
		unsigned	v;

		if (c < 0 || d < 0)
			return -1;
		v = (unsigned) c + (unsigned) d * 45u;
		if (v > 0xFF)
			return -1;
		out[o++] = (uint8_t) v;
	}
	return (long) o;
}

/* ---- signed codes ----------------------------------------------------- */

size_t
sl_code_build(uint16_t key_id, uint16_t version, const uint8_t *payload, size_t payload_len,
			  uint8_t *out)
{
	if (payload == NULL || payload_len < 1 || payload_len > SL_CODE_PAYLOAD_MAX)
		return 0;
	out[0] = SL_CODE_FORMAT;
	out[1] = (uint8_t) (key_id >> 8);
	out[2] = (uint8_t) key_id;
	out[3] = (uint8_t) (version >> 8);
	out[4] = (uint8_t) version;
	memcpy(out + SL_CODE_HEADER, payload, payload_len);
	return SL_CODE_HEADER + payload_len;
}

int
sl_code_parse(const uint8_t *bin, size_t n, sl_code *code, const char **err)
{
	if (n < SL_CODE_HEADER + 1 + SL_CODE_SIG)
	{
		*err = "The code is too short to hold a header, a payload and a signature.";
		return -1;
	}
	if (n > SL_CODE_BIN_MAX)
	{
		*err = "The code is longer than any code this format produces.";
		return -1;
	}
	if (bin[0] != SL_CODE_FORMAT)
	{
		*err = "The code starts with an unknown format byte.";
		return -1;
	}
	code->key_id = (uint16_t) ((bin[1] << 8) | bin[2]);
	code->version = (uint16_t) ((bin[3] << 8) | bin[4]);
	code->payload = bin + SL_CODE_HEADER;
	code->payload_len = n - SL_CODE_HEADER - SL_CODE_SIG;
	code->signed_part = bin;
	code->signed_len = n - SL_CODE_SIG;
	code->signature = bin + n - SL_CODE_SIG;
	return 0;
}

size_t
sl_code_message(const char *scope, size_t scope_len, const uint8_t *signed_part, size_t signed_len,
				uint8_t *out)
{
	size_t		d = sizeof(SL_CODE_DOMAIN) - 1;

	memcpy(out, SL_CODE_DOMAIN, d);
	memcpy(out + d, scope, scope_len);
	out[d + scope_len] = '\n';
	memcpy(out + d + scope_len + 1, signed_part, signed_len);
	return d + scope_len + 1 + signed_len;
}
