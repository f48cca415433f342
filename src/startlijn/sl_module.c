/*
 * sl_module.c - module entry point of startlijn.so (in src/startlijn, the
 * platform's folder, because it names the engines: src/core below it
 * knows none of them).
 *
 * One shared library backs every startlijn extension. Loading it
 * initialises libsodium once per backend; if libsodium cannot initialise
 * (no entropy source, broken build) nothing cryptographic may run, so the
 * load fails with a clear error instead of degrading. Then the engines
 * listed in sl_engines.h register their hooks.
 */
#include "postgres.h"

#include "fmgr.h"

#include <sodium.h>

#include "sl_engines.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	if (sodium_init() < 0)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("startlijn: libsodium could not be initialised"),
				 errdetail("sodium_init() failed; cryptographic functions are unavailable."),
				 errhint("Check that the system provides a working random source (getrandom or /dev/urandom).")));

	/* each engine registers what it owns (sl_engines.h) */
	for (size_t i = 0; i < lengthof(sl_engines); i++)
		sl_engines[i].init();
}
