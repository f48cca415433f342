/*
 * sl_engines.h - the engines that hook into PostgreSQL when startlijn.so
 * is loaded.
 *
 * An engine that must register something at load time (a security label
 * provider, a hook) declares its init function in its own header and is
 * listed here; _PG_init (sl_module.c) calls every entry in order, after
 * libsodium is initialised. It lives with the platform module
 * (src/startlijn), the top of the layering: src/core names no engine.
 */
#ifndef SL_ENGINES_H
#define SL_ENGINES_H

#include "../retention/retention.h"

typedef struct sl_engine_init
{
	const char *extension;		/* the extension whose engine this is */
	void		(*init) (void);
} sl_engine_init;

static const sl_engine_init sl_engines[] = {
	{"startlijn_retention", sl_retention_init},	/* the `retention` label provider */
};

#endif
