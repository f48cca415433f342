/*
 * payments.h - internals shared by the startlijn_payments C files.
 */
#ifndef SL_PAYMENTS_H
#define SL_PAYMENTS_H

#include "postgres.h"

#include "utils/uuid.h"

#include "common/sl_webhook.h"

/*
 * Verify one delivery of provider ("stripe", "standard" or "mollie")
 * against the provider's active secrets. The caller is connected to SPI
 * as the owner of schema payments. On a match *matched is true and
 * *account is the matching secret's account (also for some failures:
 * a valid signature with an expired timestamp).
 *
 *   stripe:   h1 = Stripe-Signature
 *   standard: h1 = webhook-id, h2 = webhook-timestamp, h3 = webhook-signature
 *   mollie:   h1 = X-Mollie-Signature
 */
extern sl_wh_result pay_verify(const char *provider, const char *body, size_t blen,
							   const char *h1, size_t l1, const char *h2, size_t l2,
							   const char *h3, size_t l3, pg_uuid_t *account, bool *matched);

#endif
