#include "tap.h"

#include <string.h>

#include <sodium.h>

#include "common/sl_merkle.h"
#include "common/sl_note.h"

/* golang.org/x/mod/sumdb/note reference key and note */
#define PETER_SKEY "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
#define PETER_VKEY "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define PETER_TEXT "If you think cryptography is the answer to your problem,\n" \
	"then you don't know what your problem is.\n"
#define PETER_SIG "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

static int
buf_is(const sl_buf *b, const char *want)
{
	return b->len == strlen(want) && memcmp(b->data, want, b->len) == 0;
}

void
test_note(void)
{
	uint8_t		typed[33], pk[32], sk[64], id[4], h[32], root[32];
	sl_buf		b;
	size_t		tlen = 0;
	char		note[512];

	sl_buf_init(&b);
	ok(sl_base64_decode(PETER_SKEY, strlen(PETER_SKEY), typed, sizeof typed) == 33 && typed[0] == 1,
	   "note: the reference signer key decodes to type 0x01 and a 32-byte seed");
	crypto_sign_seed_keypair(pk, sk, typed + 1);

	/* key ID = SHA-256(name || 0x0A || 0x01 || pubkey)[:4], computed independently */
	{
		uint8_t		msg[12 + 1 + 1 + 32];

		memcpy(msg, "PeterNeumann", 12);
		msg[12] = 0x0A;
		msg[13] = 0x01;
		memcpy(msg + 14, pk, 32);
		crypto_hash_sha256(h, msg, sizeof msg);
	}
	sl_note_key_id("PeterNeumann", pk, id);
	ok(memcmp(id, h, 4) == 0 && id[0] == 0xc7 && id[1] == 0x4f && id[2] == 0x20 && id[3] == 0xa3,
	   "note: key ID is SHA-256(name || 0x0A || 0x01 || pubkey)[:4] (c74f20a3)");
	sl_note_vkey("PeterNeumann", pk, &b);
	ok(buf_is(&b, PETER_VKEY), "note: the verifier key matches the reference vkey");
	b.len = 0;
	ok(sl_note_sign_line(PETER_TEXT, strlen(PETER_TEXT), "PeterNeumann", sk, &b) == 0 &&
	   buf_is(&b, PETER_SIG), "note: the Ed25519 signature line matches the reference note byte for byte");

	snprintf(note, sizeof note, "%s\n%s", PETER_TEXT, PETER_SIG);
	ok(sl_note_open(note, strlen(note), "PeterNeumann", pk, &tlen) == 1 && tlen == strlen(PETER_TEXT),
	   "note: the reference note opens with its key");
	note[3] ^= 1;
	ok(sl_note_open(note, strlen(note), "PeterNeumann", pk, &tlen) == 0, "note: a changed text fails");
	note[3] ^= 1;
	ok(sl_note_open(note, strlen(note), "EnochRoot", pk, &tlen) == 0,
	   "note: a note without a signature of the expected key does not open");
	ok(sl_note_open(PETER_TEXT, strlen(PETER_TEXT), "PeterNeumann", pk, &tlen) == -1 &&
	   sl_note_open("a\n\nxx\n", 6, "PeterNeumann", pk, &tlen) == -1 &&
	   sl_note_open("a\n\n\xe2\x80\x94 N !!!\n", 12, "N", pk, &tlen) == -1,
	   "note: missing blank line, bad signature lines and bad base64 are malformed");
	ok(sl_note_valid_name("example.com/log") && !sl_note_valid_name("") &&
	   !sl_note_valid_name("a b") && !sl_note_valid_name("a+b") && !sl_note_valid_name("a\nb"),
	   "note: key names are non-empty without spaces or '+'");

	/* a checkpoint signed and reopened */
	b.len = 0;
	sl_merkle_root(NULL, 0, root);
	sl_note_checkpoint_text("example.com/trail/platform", 0, root, &b);
	ok(buf_is(&b, "example.com/trail/platform\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"),
	   "note: checkpoint text is origin, decimal size and base64 root, one per line");
	{
		size_t		textlen = b.len;

		sl_buf_putc(&b, '\n');
		ok(sl_note_sign_line(b.data, textlen, "example.com/trail/platform", sk, &b) == 0 &&
		   sl_note_open(b.data, b.len, "example.com/trail/platform", pk, &tlen) == 1 && tlen == textlen,
		   "note: a signed checkpoint opens with the log key");
	}
	sodium_memzero(sk, sizeof sk);
	sl_buf_free(&b);
}
