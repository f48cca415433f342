/*
 * sl_secret.c - buffers for secrets that are wiped on every way out.
 *
 * A secret (token pepper, token secret, signing seed, webhook key, a data
 * subject's key) lives in an sl_secret: zeroed memory in the current memory
 * context with a reset callback that wipes it (sodium_memzero) when that
 * context is reset or deleted - at the end of the call, at SPI_finish, or
 * during the abort after an error. sl_as_owner() also wipes, in its catch
 * block, every secret made since the call began, so an error raised
 * between loading a secret and using it (an elog, a cancel, a statement
 * timeout) leaves nothing behind even before the abort frees the memory.
 * sl_secret_wipe() wipes one at once on the normal path.
 *
 * Copies elsewhere (a bytea column read through SPI, a text datum) are
 * wiped by the code that made them; sl_wipe_bytea() helps.
 */
#include "postgres.h"

#include <sodium.h>

#include "lib/ilist.h"
#include "utils/memutils.h"

#include "sl_core.h"

/* live secrets of this backend, oldest first */
static dlist_head live = DLIST_STATIC_INIT(live);
static uint64 next_seq = 1;

static void
wipe(sl_secret *s)
{
	if (!s->live)
		return;
	sodium_memzero(s->data, s->len);
	dlist_delete(&s->node);
	s->live = false;
}

static void
secret_reset_cb(void *arg)
{
	wipe((sl_secret *) arg);
}

sl_secret *
sl_secret_new(size_t len)
{
	sl_secret  *s = MemoryContextAllocZero(CurrentMemoryContext, MAXALIGN(sizeof(sl_secret)) + Max(len, 1));

	s->data = (uint8 *) s + MAXALIGN(sizeof(sl_secret));
	s->len = len;
	s->seq = next_seq++;
	s->live = true;
	s->cb.func = secret_reset_cb;
	s->cb.arg = s;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &s->cb);
	dlist_push_tail(&live, &s->node);
	return s;
}

void
sl_secret_wipe(sl_secret *s)
{
	if (s != NULL)
		wipe(s);
}

uint64
sl_secret_mark(void)
{
	return next_seq;
}

void
sl_secret_wipe_since(uint64 mark)
{
	dlist_mutable_iter it;

	dlist_foreach_modify(it, &live)
	{
		sl_secret  *s = dlist_container(sl_secret, node, it.cur);

		if (s->seq >= mark)
			wipe(s);
	}
}

void
sl_wipe_bytea(bytea *b)
{
	if (b != NULL)
		sodium_memzero(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
}
