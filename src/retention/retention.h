/*
 * retention.h - what startlijn_retention offers the rest of the library.
 */
#ifndef SL_RETENTION_H
#define SL_RETENTION_H

/*
 * Register the `retention` security label provider (retention.c). Called
 * once per backend when startlijn.so is loaded (src/startlijn/sl_engines.h).
 */
extern void sl_retention_init(void);

#endif
