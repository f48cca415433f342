/*
 * trail.h - internals shared by the startlijn_audit C functions.
 */
#ifndef SL_TRAIL_H
#define SL_TRAIL_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/uuid.h"

#include "core/sl_core.h"
#include "common/sl_jcs.h"
#include "common/sl_merkle.h"

/* the platform log: entries without an organisation */
#define TRAIL_PLATFORM_LOG "00000000-0000-0000-0000-000000000000"

/*
 * Writes to trail's tables happen as the owner of schema trail (the
 * installing superuser or BYPASSRLS role), whoever calls: every table has
 * forced RLS and no grants. trail_internal_write > 0 lets the append-only
 * guard pass the updates that only trail's own C code makes (sealer state,
 * log heads, key rotation, key destruction).
 */
typedef sl_owner_ctx trail_owner_ctx;

extern int	trail_internal_write;

extern void trail_as_owner(trail_owner_ctx *ctx);
extern void trail_restore_user(const trail_owner_ctx *ctx);

/* canonicalise buf (sl_jcs) into a palloc'd string; ERROR on bad JSON */
extern char *trail_canonical(const char *json, size_t len, size_t *outlen);

/* datum helpers shared by the trail C files */
extern Datum trail_uuid_datum(const char *s);
/* trail.settings.origin_prefix (inside SPI) */
extern char *trail_origin_prefix(void);

/* append base64 of bin to a StringInfo */
extern void trail_append_base64(StringInfo s, const uint8_t *bin, size_t len);

/* RFC 3339 UTC with microseconds, as written into entries */
extern void trail_append_timestamp(StringInfo s, TimestampTz ts);

/*
 * Record one entry. fields is the JSON members text (without braces) of
 * everything but v, id, log, xid, at and personal; personal (may be NULL)
 * a JSON object text to encrypt under data_subject's key. Returns the id.
 */
extern int64 trail_append_entry(const char *log_uuid, const char *action, const char *table_name,
								const char *fields, const char *data_subject,
								const char *personal);

/* used by verify: checkpoint root of a log, signing, node access */
extern char *trail_sign_checkpoint(const char *log_uuid, int64 *size_out);

#endif
