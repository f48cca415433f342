/*
 * sl_note.h - C2SP signed notes (c2sp.org/signed-note) with Ed25519 and the
 * tlog-checkpoint body (c2sp.org/tlog-checkpoint), on libsodium.
 *
 *   key ID    = SHA-256(name || 0x0A || 0x01 || public key)[:4]
 *   vkey      = name "+" hex(key ID) "+" base64(0x01 || public key)
 *   signature = "— " name " " base64(key ID || Ed25519(text)) "\n"
 *   note      = text "\n" signature...
 *   checkpoint text = origin "\n" size "\n" base64(root) "\n"
 *
 * base64 is RFC 4648 section 4 (standard alphabet, padded).
 */
#ifndef SL_NOTE_H
#define SL_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "sl_jcs.h"				/* sl_buf */

#define SL_NOTE_ED25519 0x01
#define SL_NOTE_MAX_NAME 255

/* 1 when name is a valid key name: 1..255 bytes, printable, no space or '+' */
int			sl_note_valid_name(const char *name);
void		sl_note_key_id(const char *name, const uint8_t pub[32], uint8_t id[4]);
void		sl_note_vkey(const char *name, const uint8_t pub[32], sl_buf *out);

/* append the tlog-checkpoint text */
void		sl_note_checkpoint_text(const char *origin, uint64_t size, const uint8_t root[32],
									sl_buf *out);

/*
 * Append one signature line over text[0..len) with the Ed25519 secret key
 * sk (libsodium's 64-byte form). Returns 0, -1 on a bad name.
 */
int			sl_note_sign_line(const char *text, size_t len, const char *name,
							  const uint8_t sk[64], sl_buf *out);

/*
 * Open a signed note: find the text, then verify the signature lines whose
 * name and key ID match (name, pub). Returns 1 when one verifies and none of
 * that key fails, 0 when none does, -1 when the note is malformed. On 1,
 * *text_len is the length of the signed text.
 */
int			sl_note_open(const char *note, size_t len, const char *name, const uint8_t pub[32],
						 size_t *text_len);

/* base64 (standard, padded) helpers; decode returns the length or -1 */
void		sl_base64_put(sl_buf *out, const uint8_t *bin, size_t len);
int			sl_base64_decode(const char *s, size_t len, uint8_t *bin, size_t cap);

#endif
