/*
 * sl_note.c - C2SP signed notes and checkpoints (see sl_note.h).
 */
#include "sl_note.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define EM_DASH "\xe2\x80\x94"

int
sl_note_valid_name(const char *name)
{
	size_t		i,
				n = name ? strlen(name) : 0;

	if (n == 0 || n > SL_NOTE_MAX_NAME)
		return 0;
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) name[i];

		/* ASCII only: no spaces (Unicode ones included), '+' or controls */
		if (c <= 0x20 || c == '+' || c >= 0x7f)
			return 0;
	}
	return 1;
}

void
sl_note_key_id(const char *name, const uint8_t pub[32], uint8_t id[4])
{
	crypto_hash_sha256_state st;
	uint8_t		h[32];
	static const uint8_t sep[2] = {0x0A, SL_NOTE_ED25519};

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *) name, strlen(name));
	crypto_hash_sha256_update(&st, sep, 2);
	crypto_hash_sha256_update(&st, pub, 32);
	crypto_hash_sha256_final(&st, h);
	memcpy(id, h, 4);
}

void
sl_base64_put(sl_buf *out, const uint8_t *bin, size_t len)
{
	/* 48-byte chunks (a multiple of 3) encode without inner padding */
	char		b64[65];

	do
	{
		size_t		n = len < 48 ? len : 48;

		sodium_bin2base64(b64, sizeof b64, bin, n, sodium_base64_VARIANT_ORIGINAL);
		sl_buf_puts(out, b64);
		bin += n;
		len -= n;
	} while (len > 0);
}

int
sl_base64_decode(const char *s, size_t len, uint8_t *bin, size_t cap)
{
	size_t		got = 0;
	const char *end = NULL;

	if (sodium_base642bin(bin, cap, s, len, NULL, &got, &end,
						  sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + len)
		return -1;
	return (int) got;
}

void
sl_note_vkey(const char *name, const uint8_t pub[32], sl_buf *out)
{
	uint8_t		id[4],
				typed[33];
	char		hex[9];

	sl_note_key_id(name, pub, id);
	snprintf(hex, sizeof hex, "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
	typed[0] = SL_NOTE_ED25519;
	memcpy(typed + 1, pub, 32);
	sl_buf_puts(out, name);
	sl_buf_putc(out, '+');
	sl_buf_puts(out, hex);
	sl_buf_putc(out, '+');
	sl_base64_put(out, typed, sizeof typed);
}

void
sl_note_checkpoint_text(const char *origin, uint64_t size, const uint8_t root[32], sl_buf *out)
{
	char		num[24];

	snprintf(num, sizeof num, "%llu", (unsigned long long) size);
	sl_buf_puts(out, origin);
	sl_buf_putc(out, '\n');
	sl_buf_puts(out, num);
	sl_buf_putc(out, '\n');
	sl_base64_put(out, root, 32);
	sl_buf_putc(out, '\n');
}

int
sl_note_sign_line(const char *text, size_t len, const char *name, const uint8_t sk[64], sl_buf *out)
{
	uint8_t		blob[4 + crypto_sign_BYTES];

	if (!sl_note_valid_name(name))
		return -1;
	/* libsodium's secret key carries the public key in its last 32 bytes */
	sl_note_key_id(name, sk + 32, blob);
	crypto_sign_detached(blob + 4, NULL, (const uint8_t *) text, len, sk);
	sl_buf_puts(out, EM_DASH " ");
	sl_buf_puts(out, name);
	sl_buf_putc(out, ' ');
	sl_base64_put(out, blob, sizeof blob);
	sl_buf_putc(out, '\n');
	return 0;
}

int
sl_note_open(const char *note, size_t len, const char *name, const uint8_t pub[32], size_t *text_len)
{
	size_t		i,
				sep = 0,
				nlen = strlen(name);
	int			found = 0;
	uint8_t		want_id[4];
	const char *p,
			   *end = note + len;

	/* valid UTF-8 is the caller's business; no control characters but \n */
	for (i = 0; i < len; i++)
		if ((unsigned char) note[i] < 0x20 && note[i] != '\n')
			return -1;
	if (len < 2 || note[len - 1] != '\n')
		return -1;
	/* the text ends at the last blank line */
	for (i = len - 1; i > 0; i--)
		if (note[i] == '\n' && note[i - 1] == '\n')
		{
			sep = i;
			break;
		}
	if (sep == 0)
		return -1;
	sl_note_key_id(name, pub, want_id);
	for (p = note + sep + 1; p < end;)
	{
		const char *eol = memchr(p, '\n', (size_t) (end - p));
		const char *sp;
		uint8_t		blob[4 + crypto_sign_BYTES + 1];
		int			got;

		if (!eol || (size_t) (eol - p) < 4 || memcmp(p, EM_DASH " ", 4) != 0)
			return -1;
		p += 4;
		sp = memchr(p, ' ', (size_t) (eol - p));
		if (!sp || sp == p)
			return -1;
		got = sl_base64_decode(sp + 1, (size_t) (eol - sp - 1), blob, sizeof blob);
		if (got < 4)
			return -1;
		if ((size_t) (sp - p) == nlen && memcmp(p, name, nlen) == 0 &&
			memcmp(blob, want_id, 4) == 0)
		{
			if (got != 4 + crypto_sign_BYTES ||
				crypto_sign_verify_detached(blob + 4, (const uint8_t *) note, sep, pub) != 0)
				return 0;		/* a known key that fails rejects the note */
			found = 1;
		}
		p = eol + 1;
	}
	if (found && text_len)
		*text_len = sep;
	return found;
}
