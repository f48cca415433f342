#include "tap.h"

#include <string.h>

#include <sodium.h>

#include "common/sl_token.h"

static void
hex(const char *h, uint8_t *out, size_t n)
{
	size_t		got = 0;

	sodium_hex2bin(out, n, h, strlen(h), NULL, &got, NULL);
}

/* RFC 8032 §7.1, tests 1-3: secret key (seed), public key, message, signature */
static const char *const rfc8032[3][4] = {
	{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
		"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
	{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
		"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
	{"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
		"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
		"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

static void
test_ed25519_vectors(void)
{
	for (int t = 0; t < 3; t++)
	{
		uint8_t		seed[32], pk_want[32], pk[32], sk[64], msg[2], sig_want[64], sig[64];
		size_t		mlen = strlen(rfc8032[t][2]) / 2;
		unsigned long long siglen = 0;

		hex(rfc8032[t][0], seed, 32);
		hex(rfc8032[t][1], pk_want, 32);
		hex(rfc8032[t][2], msg, sizeof msg);
		hex(rfc8032[t][3], sig_want, 64);
		crypto_sign_seed_keypair(pk, sk, seed);
		crypto_sign_detached(sig, &siglen, msg, mlen, sk);
		ok(memcmp(pk, pk_want, 32) == 0 && siglen == 64 && memcmp(sig, sig_want, 64) == 0 &&
		   crypto_sign_verify_detached(sig_want, msg, mlen, pk_want) == 0,
		   "ed25519: RFC 8032 test %d: public key and signature match, signature verifies", t + 1);
		sig[t] ^= 0x40;
		ok(crypto_sign_verify_detached(sig, msg, mlen, pk_want) != 0,
		   "ed25519: RFC 8032 test %d with a flipped signature bit fails", t + 1);
		sodium_memzero(sk, sizeof sk);
	}
}

static void
test_base45(void)
{
	/* RFC 9285 §4.3 and §4.4 examples */
	static const char *const v[][2] = {
		{"AB", "BB8"}, {"Hello!!", "%69 VD92EX0"}, {"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"}, {"", ""},
	};
	int			all = 1;
	char		out[64];
	uint8_t		back[64];
	long		n;

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
	{
		sl_base45_encode((const uint8_t *) v[i][0], strlen(v[i][0]), out);
		n = sl_base45_decode(v[i][1], strlen(v[i][1]), back, sizeof back);
		if (strcmp(out, v[i][1]) != 0 || n != (long) strlen(v[i][0]) ||
			memcmp(back, v[i][0], (size_t) n) != 0)
			all = 0;
	}
	ok(all, "base45: the RFC 9285 examples encode and decode");
	ok(sl_base45_decode("GGW", 3, back, sizeof back) == -1, "base45: a triplet above 65535 is rejected (RFC 9285 §4.4)");
	ok(sl_base45_decode("ABCD", 4, back, sizeof back) == -1, "base45: a length of 3k+1 is rejected");
	ok(sl_base45_decode("ab", 2, back, sizeof back) == -1 && sl_base45_decode("A\0", 2, back, sizeof back) == -1,
	   "base45: lowercase and NUL are not in the alphabet");
	ok(sl_base45_decode(":V", 2, back, sizeof back) == -1, "base45: a pair above 255 is rejected");
	/* every byte string of length 0..40 round-trips */
	all = 1;
	for (size_t len = 0; len <= 40; len++)
	{
		uint8_t		in[40];
		char		txt[61];

		randombytes_buf(in, len);
		sl_base45_encode(in, len, txt);
		if (sl_base45_decode(txt, strlen(txt), back, sizeof back) != (long) len || memcmp(in, back, len) != 0)
			all = 0;
	}
	ok(all, "base45: random byte strings of 0..40 bytes round-trip");
}

static void
test_tokens(void)
{
	uint8_t		secret[32], back[32];
	char		tok[SL_TOKEN_TEXT_MAX + 1];
	size_t		n;
	int			all;

	ok(sl_crc32(0, "123456789", 9) == 0xCBF43926u, "crc32: the CRC-32/ISO-HDLC check value");
	ok(sl_crc32(sl_crc32(0, "1234", 4), "56789", 5) == 0xCBF43926u, "crc32: incremental computation");

	/* a fixed secret gives a fixed text: the format is stable */
	for (int i = 0; i < 32; i++)
		secret[i] = (uint8_t) i;
	n = sl_token_encode("slt", 3, secret, tok);
	/* expected value computed independently: Python zlib.crc32 and base64.urlsafe_b64encode */
	ok(n == 52 && strcmp(tok, "slt_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh_6qtBO") == 0,
	   "token: bytes 00..1f under prefix slt encode as %s (matches zlib.crc32 + urlsafe base64)", tok);
	ok(sl_token_decode(tok, n, "slt", 3, back) == SL_TOKEN_OK && memcmp(back, secret, 32) == 0,
	   "token: decodes back to the secret");
	ok(sl_token_decode(tok, n, "sltr", 4, back) == SL_TOKEN_WRONG_PREFIX,
	   "token: a token of another purpose is told apart");

	/* every single-character substitution is caught by the checksum */
	all = 1;
	for (size_t pos = 4; pos < n; pos++)
	{
		static const char alt[] = "AZaz09-_Q";

		for (size_t k = 0; k < sizeof alt - 1; k++)
		{
			char		typo[SL_TOKEN_TEXT_MAX + 1];

			if (alt[k] == tok[pos])
				continue;
			memcpy(typo, tok, n + 1);
			typo[pos] = alt[k];
			if (sl_token_decode(typo, n, "slt", 3, back) == SL_TOKEN_OK)
				all = 0;
		}
	}
	ok(all, "token: every single-character typo in the body is rejected before any lookup");
	/* swapping two neighbouring characters too */
	all = 1;
	for (size_t pos = 4; pos + 1 < n; pos++)
	{
		char		typo[SL_TOKEN_TEXT_MAX + 1];

		memcpy(typo, tok, n + 1);
		if (typo[pos] == typo[pos + 1])
			continue;
		typo[pos] = tok[pos + 1];
		typo[pos + 1] = tok[pos];
		if (sl_token_decode(typo, n, "slt", 3, back) == SL_TOKEN_OK)
			all = 0;
	}
	ok(all, "token: every transposition of neighbouring characters is rejected");

	ok(sl_token_decode(tok, n - 1, "slt", 3, back) == SL_TOKEN_BAD_SHAPE &&
	   sl_token_decode("slt_", 4, "slt", 3, back) == SL_TOKEN_BAD_SHAPE &&
	   sl_token_decode("", 0, "slt", 3, back) == SL_TOKEN_BAD_SHAPE &&
	   sl_token_decode(tok + 4, n - 4, "slt", 3, back) == SL_TOKEN_BAD_SHAPE,
	   "token: truncated, empty and prefix-less texts are malformed");
	{
		char		bad[SL_TOKEN_TEXT_MAX + 1];

		memcpy(bad, tok, n + 1);
		bad[10] = '+';
		ok(sl_token_decode(bad, n, "slt", 3, back) == SL_TOKEN_BAD_SHAPE,
		   "token: a character outside base64url is malformed");
		memcpy(bad, tok, n + 1);
		bad[0] = 'S';
		ok(sl_token_decode(bad, n, "slt", 3, back) == SL_TOKEN_BAD_SHAPE,
		   "token: an uppercase prefix is malformed");
	}
	ok(sl_token_encode("a", 1, secret, tok) == 0 && sl_token_encode("x_y", 3, secret, tok) == 0 &&
	   sl_token_encode("1ab", 3, secret, tok) == 0 && sl_token_encode("abcdefghijklm", 13, secret, tok) == 0 &&
	   sl_token_encode("abcdefghijkl", 12, secret, tok) == 12 + 1 + 48,
	   "token: prefixes are 2-12 of a-z0-9 starting with a letter");
}

static void
test_codes(void)
{
	uint8_t		pk[32], sk[64], bin[SL_CODE_BIN_MAX], back[SL_CODE_BIN_MAX], msg[256];
	uint8_t		payload[32];
	char		txt[SL_CODE_TEXT_MAX + 1];
	size_t		n, mlen;
	long		got;
	sl_code		c;
	const char *err = NULL;

	crypto_sign_keypair(pk, sk);
	randombytes_buf(payload, sizeof payload);
	n = sl_code_build(7, 3, payload, 32, bin);
	mlen = sl_code_message("event-42", 8, bin, n, msg);
	crypto_sign_detached(bin + n, NULL, msg, mlen, sk);
	n += 64;
	ok(n == SL_CODE_BIN_MAX && sl_base45_encode(bin, n, txt) == SL_CODE_TEXT_MAX && SL_CODE_TEXT_MAX <= 154,
	   "code: a 32-byte payload gives %zu bytes, %d base45 characters (QR version 6-M holds 154)", n, SL_CODE_TEXT_MAX);
	got = sl_base45_decode(txt, strlen(txt), back, sizeof back);
	ok(got == (long) n && sl_code_parse(back, (size_t) got, &c, &err) == 0 &&
	   c.key_id == 7 && c.version == 3 && c.payload_len == 32 && memcmp(c.payload, payload, 32) == 0,
	   "code: parses back to key 7, version 3 and the payload");
	mlen = sl_code_message("event-42", 8, c.signed_part, c.signed_len, msg);
	ok(crypto_sign_verify_detached(c.signature, msg, mlen, pk) == 0, "code: the signature verifies under its scope");
	mlen = sl_code_message("event-43", 8, c.signed_part, c.signed_len, msg);
	ok(crypto_sign_verify_detached(c.signature, msg, mlen, pk) != 0,
	   "code: the same code does not verify under another scope");
	back[4] ^= 1;
	mlen = sl_code_message("event-42", 8, c.signed_part, c.signed_len, msg);
	ok(crypto_sign_verify_detached(c.signature, msg, mlen, pk) != 0, "code: a changed version byte breaks the signature");

	ok(sl_code_build(1, 1, payload, 0, bin) == 0 && sl_code_build(1, 1, payload, 33, bin) == 0,
	   "code: payloads are 1..32 bytes");
	ok(sl_code_parse(back, 69, &c, &err) == -1 && sl_code_parse(back, SL_CODE_BIN_MAX + 1, &c, &err) == -1,
	   "code: shorter than header+1+signature or longer than the maximum is refused");
	back[0] = 2;
	ok(sl_code_parse(back, 80, &c, &err) == -1 && err != NULL, "code: an unknown format byte is refused (%s)", err);
	sodium_memzero(sk, sizeof sk);
}

void
test_token(void)
{
	test_ed25519_vectors();
	test_base45();
	test_tokens();
	test_codes();
}
