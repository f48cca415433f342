#include "tap.h"

#include <ctype.h>
#include <string.h>

#include <sodium.h>

#include "common/sl_webhook.h"

#define S(x) x, strlen(x)

/* Stripe: HMAC-SHA256 keyed with the whsec_ text, over "t.body" (Python hmac) */
static const char *stripe_secret = "whsec_test_startlijn_0123456789";
static const char *body = "{\"id\":\"evt_1\",\"type\":\"payment_intent.succeeded\"}";
static const char *stripe_v1 = "289fc28139c61c5481006325a10aa2e2582049f2e2becf89ea24b314ff3b3f8e";
static const char *mollie_hex = "1b8a35390882b1d01d9554a82e4d6cf72ac277d1a792b8717b4d02f77a114c14";

static sl_wh_result
stripe(const char *header, const char *sec, int64_t now, int *m)
{
	sl_wh_secret k[2] = {
		{(const uint8_t *) "whsec_other_secret_for_rotation", 31, SL_WH_KEY_HMAC},
		{(const uint8_t *) sec, strlen(sec), SL_WH_KEY_HMAC}};

	return sl_wh_stripe_verify(k, 2, header, header ? strlen(header) : 0, S(body), now, 300, m);
}

static void
test_stripe(void)
{
	char		h[512];
	int			m;
	sl_wh_stripe_header hd;

	snprintf(h, sizeof h, "t=1700000000,v1=%s", stripe_v1);
	ok(stripe(h, stripe_secret, 1700000000, &m) == SL_WH_OK && m == 1,
	   "stripe: correct signature verifies with the second active secret (rotation)");
	ok(stripe(h, stripe_secret, 1700000300, &m) == SL_WH_OK, "stripe: 300 s old is within the tolerance");
	ok(stripe(h, stripe_secret, 1700000301, &m) == SL_WH_TIMESTAMP_EXPIRED, "stripe: 301 s old is expired");
	ok(stripe(h, stripe_secret, 1699999699, &m) == SL_WH_TIMESTAMP_FUTURE, "stripe: 301 s in the future is refused");
	ok(stripe(h, "whsec_wrong", 1700000000, &m) == SL_WH_BAD_SIGNATURE && m == -1, "stripe: wrong secret");
	snprintf(h, sizeof h, "t=1700000000,v1=%064d,v0=abc,v1=%s", 0, stripe_v1);
	ok(stripe(h, stripe_secret, 1700000000, &m) == SL_WH_OK, "stripe: any matching v1 passes, v0 ignored");
	{
		/* fuzz corpus crash-stripe-uppercase-hex (issue 26.3): hex of either case is the same signature */
		char		up[65];

		for (int i = 0; i < 64; i++)
			up[i] = (char) toupper((unsigned char) stripe_v1[i]);
		up[64] = '\0';
		snprintf(h, sizeof h, "t=1700000000,v1=%s", up);
		ok(stripe(h, stripe_secret, 1700000000, &m) == SL_WH_OK, "stripe: the signature in uppercase hex verifies (the same bytes)");
		up[0] = up[0] == 'A' ? 'B' : 'A';
		snprintf(h, sizeof h, "t=1700000000,v1=%s", up);
		ok(stripe(h, stripe_secret, 1700000000, &m) == SL_WH_BAD_SIGNATURE, "stripe: ... and one changed digit does not");
	}
	snprintf(h, sizeof h, "t=1700000001,v1=%s", stripe_v1);
	ok(stripe(h, stripe_secret, 1700000000, &m) == SL_WH_BAD_SIGNATURE, "stripe: another timestamp breaks the signature");
	{
		sl_wh_secret k = {(const uint8_t *) stripe_secret, strlen(stripe_secret), SL_WH_KEY_HMAC};
		const char *tampered = "{\"id\":\"evt_1\",\"type\":\"payment_intent.succeedeD\"}";

		snprintf(h, sizeof h, "t=1700000000,v1=%s", stripe_v1);
		ok(sl_wh_stripe_verify(&k, 1, S(h), S(tampered), 1700000000, 300, &m) == SL_WH_BAD_SIGNATURE,
		   "stripe: tampered body");
		ok(sl_wh_stripe_verify(&k, 0, S(h), S(body), 1700000000, 300, &m) == SL_WH_NO_SECRET,
		   "stripe: no active secret");
	}
	ok(stripe(NULL, stripe_secret, 0, &m) == SL_WH_MISSING_HEADER && stripe("", stripe_secret, 0, &m) == SL_WH_MISSING_HEADER,
	   "stripe: missing header");
	ok(sl_wh_stripe_parse(S("garbage"), &hd) == SL_WH_MALFORMED_HEADER &&
	   sl_wh_stripe_parse(S("t=1700000000"), &hd) == SL_WH_MALFORMED_HEADER &&
	   sl_wh_stripe_parse(S("v1=00"), &hd) == SL_WH_MALFORMED_HEADER &&
	   sl_wh_stripe_parse(S("t=01,v1=0000000000000000000000000000000000000000000000000000000000000000"), &hd) == SL_WH_MALFORMED_HEADER &&
	   sl_wh_stripe_parse(S("t=1,t=2,v1=0000000000000000000000000000000000000000000000000000000000000000"), &hd) == SL_WH_MALFORMED_HEADER &&
	   sl_wh_stripe_parse(S("t=-1,v1=0000000000000000000000000000000000000000000000000000000000000000"), &hd) == SL_WH_MALFORMED_HEADER &&
	   sl_wh_stripe_parse(S("t=1,v1=zz00000000000000000000000000000000000000000000000000000000000000"), &hd) == SL_WH_MALFORMED_HEADER &&
	   sl_wh_stripe_parse(S("t=1,v1=0000000000000000000000000000000000000000000000000000000000000000,"), &hd) == SL_WH_MALFORMED_HEADER,
	   "stripe: garbage headers are malformed (no t, no v1, leading zero, two t, sign, bad hex, trailing comma)");
	ok(sl_wh_stripe_parse(S("t=1,v1=0000000000000000000000000000000000000000000000000000000000000000"), &hd) == SL_WH_OK &&
	   hd.t == 1 && hd.nsig == 1, "stripe: minimal header parses");
}

static void
test_standard(void)
{
	/* the example of the Standard Webhooks specification */
	const char *sec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
	const char *id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
	const char *ts = "1614265330";
	const char *b = "{\"test\": 2432232314}";
	const char *sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
	uint8_t		key[64], pk[32], sk[64], seed[32], esig[64];
	char		h[512], b64[100], msg[256];
	sl_wh_key_kind kind;
	size_t		klen = sl_wh_std_decode_secret(S(sec), key, sizeof key, &kind);
	sl_wh_secret k[2];
	sl_wh_std_header hd;
	int			m;

	ok(klen == 24 && kind == SL_WH_KEY_HMAC, "standard: whsec_ secret decodes to a 24-byte HMAC key");
	k[0] = (sl_wh_secret) {key, klen, SL_WH_KEY_HMAC};
	ok(sl_wh_std_verify(k, 1, S(id), S(ts), S(sig), S(b), 1614265330, 300, &m) == SL_WH_OK && m == 0,
	   "standard: the specification's example verifies");
	ok(sl_wh_std_verify(k, 1, S(id), S(ts), S(sig), S(b), 1614265330 + 301, 300, &m) == SL_WH_TIMESTAMP_EXPIRED,
	   "standard: more than 5 minutes old is expired");
	ok(sl_wh_std_verify(k, 1, S(id), S(ts), S(sig), S(b), 1614265330 - 301, 300, &m) == SL_WH_TIMESTAMP_FUTURE,
	   "standard: more than 5 minutes ahead is refused");
	ok(sl_wh_std_verify(k, 1, S(id), S(ts), S(sig), S("{\"test\": 2432232315}"), 1614265330, 300, &m) == SL_WH_BAD_SIGNATURE,
	   "standard: tampered body");
	ok(sl_wh_std_verify(k, 1, S("msg_other"), S(ts), S(sig), S(b), 1614265330, 300, &m) == SL_WH_BAD_SIGNATURE,
	   "standard: another message id breaks the signature");
	snprintf(h, sizeof h, "v2,abc v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= %s", sig);
	ok(sl_wh_std_verify(k, 1, S(id), S(ts), S(h), S(b), 1614265330, 300, &m) == SL_WH_OK,
	   "standard: any matching v1 passes, unknown versions ignored");
	{
		uint8_t		wrong[24] = {0};
		sl_wh_secret w = {wrong, 24, SL_WH_KEY_HMAC};

		ok(sl_wh_std_verify(&w, 1, S(id), S(ts), S(sig), S(b), 1614265330, 300, &m) == SL_WH_BAD_SIGNATURE,
		   "standard: wrong secret");
	}
	ok(sl_wh_std_verify(k, 1, NULL, 0, S(ts), S(sig), S(b), 1614265330, 300, &m) == SL_WH_MISSING_HEADER &&
	   sl_wh_std_verify(k, 1, S(id), NULL, 0, S(sig), S(b), 1614265330, 300, &m) == SL_WH_MISSING_HEADER &&
	   sl_wh_std_verify(k, 1, S(id), S(ts), NULL, 0, S(b), 1614265330, 300, &m) == SL_WH_MISSING_HEADER,
	   "standard: missing id, timestamp or signature header");
	ok(sl_wh_std_parse(S("garbage"), &hd) == SL_WH_MALFORMED_HEADER &&
	   sl_wh_std_parse(S("v1,!!!"), &hd) == SL_WH_MALFORMED_HEADER &&
	   sl_wh_std_parse(S("v1,AAAA"), &hd) == SL_WH_MALFORMED_HEADER &&
	   sl_wh_std_parse(S("v2,AAAA"), &hd) == SL_WH_MALFORMED_HEADER &&
	   sl_wh_std_parse(S(",x"), &hd) == SL_WH_MALFORMED_HEADER &&
	   sl_wh_std_verify(k, 1, S(id), S("16142653300000000"), S(sig), S(b), 0, 300, &m) == SL_WH_MALFORMED_HEADER &&
	   sl_wh_std_verify(k, 1, S("msg 1"), S(ts), S(sig), S(b), 0, 300, &m) == SL_WH_MALFORMED_HEADER,
	   "standard: garbage headers are malformed (no comma, bad base64, short mac, no known version, overlong timestamp, space in id)");

	/* v1a: Ed25519 over id.ts.body, verified with a whpk_ public key */
	memset(seed, 7, sizeof seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	snprintf(msg, sizeof msg, "%s.%s.%s", id, ts, b);
	crypto_sign_detached(esig, NULL, (const unsigned char *) msg, strlen(msg), sk);
	sodium_bin2base64(b64, sizeof b64, esig, 64, sodium_base64_VARIANT_ORIGINAL);
	snprintf(h, sizeof h, "v1a,%s", b64);
	{
		char		pktext[80] = "whpk_";
		uint8_t		pkd[32];

		sodium_bin2base64(pktext + 5, sizeof pktext - 5, pk, 32, sodium_base64_VARIANT_ORIGINAL);
		ok(sl_wh_std_decode_secret(S(pktext), pkd, sizeof pkd, &kind) == 32 && kind == SL_WH_KEY_ED25519 &&
		   memcmp(pkd, pk, 32) == 0, "standard: whpk_ decodes to an Ed25519 public key");
		k[1] = (sl_wh_secret) {pkd, 32, SL_WH_KEY_ED25519};
		ok(sl_wh_std_verify(k, 2, S(id), S(ts), S(h), S(b), 1614265330, 300, &m) == SL_WH_OK && m == 1,
		   "standard: v1a Ed25519 signature verifies with the public key");
		ok(sl_wh_std_verify(k, 2, S(id), S(ts), S(h), S("{\"test\": 1}"), 1614265330, 300, &m) == SL_WH_BAD_SIGNATURE,
		   "standard: v1a over a tampered body fails");
		ok(sl_wh_std_verify(k, 1, S(id), S(ts), S(h), S(b), 1614265330, 300, &m) == SL_WH_BAD_SIGNATURE,
		   "standard: v1a is not checked against HMAC secrets");
	}
	ok(sl_wh_std_decode_secret(S("whsec_AAAA"), key, sizeof key, &kind) == 0 &&
	   sl_wh_std_decode_secret(S("secret"), key, sizeof key, &kind) == 0 &&
	   sl_wh_std_decode_secret(S("whsec_!!!!"), key, sizeof key, &kind) == 0 &&
	   sl_wh_std_decode_secret(S("whpk_AAAA"), key, sizeof key, &kind) == 0,
	   "standard: short, unprefixed or undecodable secrets are refused");
}

static void
test_mollie(void)
{
	sl_wh_secret k = {(const uint8_t *) "mollie-shared-secret", 20, SL_WH_KEY_HMAC};
	char		h[100];
	uint8_t		sig[32];
	int			m;

	ok(sl_wh_mollie_verify(&k, 1, S(mollie_hex), S(body), &m) == SL_WH_OK && m == 0,
	   "mollie: hex HMAC-SHA256 of the body verifies");
	snprintf(h, sizeof h, "sha256=%s", mollie_hex);
	ok(sl_wh_mollie_verify(&k, 1, S(h), S(body), &m) == SL_WH_OK, "mollie: sha256= prefix accepted");
	ok(sl_wh_mollie_verify(&k, 1, S(mollie_hex), S("{}"), &m) == SL_WH_BAD_SIGNATURE, "mollie: tampered body");
	{
		sl_wh_secret w = {(const uint8_t *) "wrong", 5, SL_WH_KEY_HMAC};

		ok(sl_wh_mollie_verify(&w, 1, S(mollie_hex), S(body), &m) == SL_WH_BAD_SIGNATURE, "mollie: wrong secret");
	}
	ok(sl_wh_mollie_verify(&k, 1, NULL, 0, S(body), &m) == SL_WH_MISSING_HEADER, "mollie: missing header");
	ok(sl_wh_mollie_parse(S("sha256="), sig) == SL_WH_MALFORMED_HEADER &&
	   sl_wh_mollie_parse(S("abc"), sig) == SL_WH_MALFORMED_HEADER &&
	   sl_wh_mollie_parse(S("1b8a35390882b1d01d9554a82e4d6cf72ac277d1a792b8717b4d02f77a114c1g"), sig) == SL_WH_MALFORMED_HEADER,
	   "mollie: garbage headers are malformed");
}

void
test_webhook(void)
{
	int64_t		t;

	test_stripe();
	test_standard();
	test_mollie();
	t = sl_wh_parse_timestamp(S("0"));
	ok(t == 0 && sl_wh_parse_timestamp(S("")) == -1 && sl_wh_parse_timestamp(S("1e9")) == -1 &&
	   sl_wh_parse_timestamp(S("9999999999999")) == -1, "timestamps: digits only, no leading zeros, bounded");
	ok(strcmp(sl_wh_result_name(SL_WH_TIMESTAMP_FUTURE), "timestamp_future") == 0, "result names");
	{
#define HK(s) sl_wh_header_kept((s), strlen(s))
		ok(HK("stripe-signature") && HK("webhook-signature") && HK("x-mollie-signature") && HK("webhook-id"),
		   "headers: the signature headers are kept");
		ok(HK("user-agent") && HK("content-type") && HK("x-forwarded-for") && HK("x-request-id"),
		   "headers: ordinary headers are kept");
		ok(!HK("authorization") && !HK("apikey") && !HK("x-api-key") && !HK("cookie") && !HK("x-session-token")
		   && !HK("x-client-secret") && !HK("proxy-authorization") && !HK("prefer") && !HK("x-other-signature"),
		   "headers: credential-like headers are dropped");
		ok(!HK("X-Api-Key") && !HK("") && !HK("a b"), "headers: names that are not lowercase tokens are dropped");
		{
			char		longname[80];

			memset(longname, 'a', sizeof longname);
			ok(sl_wh_header_kept(longname, 64) && !sl_wh_header_kept(longname, 65), "headers: names up to 64 bytes");
		}
#undef HK
	}
}
