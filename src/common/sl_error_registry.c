/*
 * sl_error_registry.c - the registry of startlijn business errors.
 *
 * Keep the table sorted by code: lookups are binary searches, and the unit
 * test fails when the order, the format or docs/errors.md drift.
 */
#include "sl_error_registry.h"

#include <string.h>

static const sl_error_def sl_errors[] = {
	{"account_erased", 403, "account erased",
	"This account's personal data was erased at its owner's request; it can no longer act."},
	{"account_not_found", 404, "payment account not found",
	"No active payment provider account has this id."},
	{"addon_not_found", 404, "add-on not found",
	"No add-on of an event you can see has this id."},
	{"addon_variant_not_found", 404, "add-on variant not found",
	"No add-on variant of an event you can see has this id."},
	{"allocation_not_found", 404, "allocation not found",
	"No allocation has this id."},
	{"already_member", 409, "already a member",
	"This user is already an active member of the organization."},
	{"already_on_waitlist", 409, "already on the waitlist",
	"This holder already has an open entry on this waitlist."},
	{"already_registered", 409, "already registered",
	"This person already has an entry for this event."},
	{"append_only", 403, "audit entries are append-only",
	"Audit entries, leaves and checkpoints can never be changed, deleted or truncated."},
	{"cancellation_not_allowed", 409, "cancellation not allowed",
	"The event's cancellation policy does not allow cancelling this entry now."},
	{"capacity_in_use", 409, "capacity in use",
	"The capacity cannot go below the units that are allocated or held."},
	{"capacity_limit", 403, "capacity limit reached",
	"The change would take the organization past the capacity the platform allows it."},
	{"code_malformed", 400, "malformed code",
	"The text is not a signed code: it does not decode as base45 or its bytes do not have the code layout."},
	{"code_versions_exhausted", 409, "code versions exhausted",
	"This payload has been re-issued 65535 times; codes carry a 16-bit version."},
	{"course_not_found", 404, "course not found",
	"No course of an event you can see has this id."},
	{"discount_code_not_found", 404, "discount code not found",
	"No live discount code of this event has this text."},
	{"discount_code_not_valid", 409, "discount code not valid",
	"The discount code is not valid now or not for these ticket types."},
	{"discount_code_used_up", 409, "discount code used up",
	"The discount code has no uses left."},
	{"duplicate_line", 400, "duplicate line",
	"The same item or pool appears in more than one line."},
	{"email_in_use", 409, "email address in use",
	"Another profile already uses this email address."},
	{"entitlement_not_found", 404, "entitlement not found",
	"No entitlement of an order you can see has this id."},
	{"entry_not_found", 404, "audit entry not found",
	"No audit entry has this id."},
	{"entry_not_sealed", 409, "audit entry not sealed yet",
	"The entry is recorded but not yet part of its log; the next sealing run adds it."},
	{"erasure_request_not_found", 404, "erasure request not found",
	"No erasure request has this id."},
	{"event_incomplete", 422, "event incomplete",
	"The event cannot be published yet; the detail lists what is missing."},
	{"event_not_found", 404, "event not found",
	"No event you can see has this id or slug."},
	{"has_sales", 409, "has sales",
	"Sold or held entries depend on what you are changing."},
	{"has_ticket_types", 409, "has ticket types",
	"Ticket types still sell from the course or start wave; delete or move them first."},
	{"hold_confirmed", 409, "hold already confirmed",
	"The hold has been confirmed; its units can only be returned now."},
	{"hold_expired", 410, "hold expired",
	"The hold expired and its units went back to the pool."},
	{"hold_extension_limit", 409, "hold cannot be extended further",
	"The hold would outlive the longest a hold may be kept."},
	{"hold_not_found", 404, "hold not found",
	"No hold has this id."},
	{"hold_released", 409, "hold released",
	"The hold was released and its units went back to the pool."},
	{"idempotency_key_in_flight", 409, "request with this idempotency key in progress",
	"Another request with this idempotency key has not finished yet."},
	{"idempotency_key_reused", 422, "idempotency key reused",
	"This idempotency key was used before with a different request."},
	{"insufficient_role", 403, "insufficient role",
	"Your role in this organization does not allow this action."},
	{"invalid_amount", 400, "invalid amount",
	"The amount must be a positive whole number of minor units (cents) within the allowed range."},
	{"invalid_answers", 400, "invalid answers",
	"The answers do not fit the event's registration questions; the detail names the question."},
	{"invalid_argument", 400, "invalid argument",
	"An argument has an invalid value."},
	{"invalid_cancellation_policy", 400, "invalid cancellation policy",
	"A cancellation policy is an array of at most 10 tiers (until, refund_percent 0 to 100, fee in minor units), ordered by until."},
	{"invalid_capacity", 400, "invalid capacity",
	"The capacity must be a whole number from 0 up to the configured maximum."},
	{"invalid_country", 400, "invalid country",
	"The country must be an ISO 3166-1 alpha-2 code such as NL."},
	{"invalid_currency", 400, "invalid currency",
	"The currency must be an ISO 4217 code in capitals such as EUR."},
	{"invalid_date_of_birth", 400, "invalid date of birth",
	"The date of birth must lie between 1900-01-01 and today."},
	{"invalid_email", 400, "invalid email address",
	"The email address is not valid."},
	{"invalid_fee_rule", 400, "invalid fee rule",
	"A fee rule has a name, an account (platform_fee_revenue or fee:name), 0 to 10000 basis points, a fixed part of 0 or more and a position from 1 to 100."},
	{"invalid_idempotency_key", 400, "invalid idempotency key",
	"An idempotency key has 1 to 255 printable ASCII characters without spaces."},
	{"invalid_kvk_number", 400, "invalid kvk number",
	"A KvK number consists of exactly 8 digits."},
	{"invalid_label", 400, "invalid retention label",
	"The security label does not follow the retention label language (docs/retention.md)."},
	{"invalid_lines", 400, "invalid lines",
	"The lines must be a JSON array of objects {\"item_id\" or \"pool_id\": uuid, \"quantity\": n}."},
	{"invalid_locale", 400, "invalid locale",
	"The locale must be a language code such as nl or nl-NL."},
	{"invalid_name", 400, "invalid name",
	"The name must be 1 to 200 characters without control characters."},
	{"invalid_participants", 400, "invalid participants",
	"The participants are not a valid list for the entries of this order."},
	{"invalid_period", 400, "invalid period",
	"A period ends after it starts and lies inside its event."},
	{"invalid_phone", 400, "invalid phone number",
	"The phone number must be in international E.164 form, such as +31612345678."},
	{"invalid_quantity", 400, "invalid quantity",
	"The quantity must be a whole number from 1 up to the configured maximum."},
	{"invalid_questions", 400, "invalid questions",
	"The registration questions are not valid; the detail names the problem."},
	{"invalid_role", 400, "invalid role",
	"The role must be one of owner, admin, support or finance."},
	{"invalid_secret", 400, "invalid webhook secret",
	"The text is not a webhook secret of this provider."},
	{"invalid_settings", 400, "invalid settings",
	"Settings must be a JSON object of at most 65536 bytes."},
	{"invalid_slug", 400, "invalid slug",
	"A slug is 3 to 63 characters of a-z, 0-9 and single hyphens, not starting or ending with a hyphen, and not reserved."},
	{"invalid_time_zone", 400, "invalid time zone",
	"The time zone must be a name PostgreSQL knows, such as Europe/Amsterdam."},
	{"invalid_transition", 409, "invalid state transition",
	"The state machine does not allow this change."},
	{"invalid_tree_size", 400, "invalid tree size",
	"The tree size must be at least 1, at most the current size of the log, and include the entry."},
	{"invalid_ttl", 400, "invalid time to live",
	"The time to live must be positive and at most the configured maximum."},
	{"item_in_use", 409, "item in use",
	"What you are deleting is sold, held, waited for, in an open order or named by a registration question."},
	{"item_not_found", 404, "item not found",
	"No item with this id exists in this organization."},
	{"last_owner", 409, "organization needs an owner",
	"An organization must keep at least one owner."},
	{"legal_hold_not_found", 404, "legal hold not found",
	"No active legal hold has this id."},
	{"log_not_found", 404, "audit log not found",
	"No audit log exists for this id."},
	{"member_not_found", 404, "member not found",
	"The user is not an active member of this organization."},
	{"missing_argument", 400, "missing argument",
	"A required argument is missing."},
	{"no_open_exception", 409, "no open exception",
	"This payment has no unresolved exception."},
	{"no_signing_key", 409, "no signing key",
	"The audit trail has no active signing key."},
	{"not_authenticated", 401, "not authenticated",
	"This action requires a signed-in user."},
	{"not_eligible", 422, "not eligible",
	"The participant does not meet the age limits of the event or ticket type."},
	{"not_on_sale", 409, "not on sale",
	"The ticket type is not on sale now."},
	{"order_expired", 410, "order expired",
	"The order's reservation ended before checkout; its places were given back."},
	{"order_not_found", 404, "order not found",
	"No order you can see has this id."},
	{"organization_not_found", 404, "organization not found",
	"No organization with this id is visible to you."},
	{"owner_required", 403, "owner required",
	"Only an owner can grant, change or revoke the owner and admin roles."},
	{"payment_not_captured", 409, "payment not captured",
	"No money has been received for this payment."},
	{"payment_not_found", 404, "payment not found",
	"No payment has this id."},
	{"payments_not_configured", 409, "payments not configured",
	"The platform has no payment provider account for new payments."},
	{"pool_not_found", 404, "pool not found",
	"No pool with this id exists in this organization."},
	{"profile_not_found", 404, "profile not found",
	"No user profile matches."},
	{"provider_ref_conflict", 409, "conflicting provider reference",
	"The payment or refund already holds another provider reference, checkout URL or client secret."},
	{"purpose_not_found", 404, "token purpose not found",
	"No token purpose with this name is defined."},
	{"record_read_only", 409, "record is read-only",
	"Archived, expired and anonymized records cannot be changed or deleted."},
	{"refund_exceeds_captured", 409, "refund exceeds what was paid",
	"Refunds would exceed the amount received for this payment."},
	{"refund_not_found", 404, "refund not found",
	"No refund has this id."},
	{"registration_closed", 409, "registration closed",
	"The event does not take registrations now."},
	{"registration_in_use", 409, "registration in use",
	"The person has a registration for an event that has not ended; it is cancelled first, or erased after the event."},
	{"registration_not_found", 404, "registration not found",
	"No registration you can see has this id."},
	{"retention_profile_not_found", 404, "retention profile not found",
	"No retention profile has this name."},
	{"return_exceeds_allocation", 409, "return exceeds allocation",
	"More units were to be returned than the allocation still holds."},
	{"scope_not_found", 404, "code scope not found",
	"No signing key exists for this scope."},
	{"signing_key_not_found", 404, "signing key not found",
	"The scope has no key with this id, or it is already retired."},
	{"slug_taken", 409, "slug already taken",
	"Another organization already uses this slug."},
	{"sold_out", 409, "sold out",
	"Not enough units are available for this request."},
	{"subject_not_found", 404, "subject not found",
	"The organization holds no records about this person."},
	{"table_not_managed", 400, "table not managed by retention",
	"The table has no retention label, or lacks the columns or trigger its label needs."},
	{"ticket_type_not_found", 404, "ticket type not found",
	"No ticket type of an event you can see has this id."},
	{"token_expired", 410, "token expired",
	"The token has expired."},
	{"token_malformed", 400, "malformed token",
	"The text is not a token of this kind: wrong prefix, length, characters or checksum."},
	{"token_not_found", 404, "token not found",
	"No token matches; it may have been mistyped, never issued or pruned."},
	{"token_revoked", 410, "token revoked",
	"The token has been revoked."},
	{"token_used_up", 410, "token already used",
	"The token has been used as many times as it allows."},
	{"too_many_attempts", 429, "too many attempts",
	"Too many failed attempts from this caller or for this subject; wait before trying again."},
	{"too_many_reservations", 429, "too many open reservations",
	"This caller already holds as many open reservations for this event as the platform allows."},
	{"try_again", 409, "try again",
	"The request could not be completed right now; retry in a moment."},
	{"waitlist_entry_not_found", 404, "waitlist entry not found",
	"No waitlist entry has this id."},
	{"wave_not_found", 404, "start wave not found",
	"No start wave of an event you can see has this id."},
};

#define SL_NERRORS (sizeof(sl_errors) / sizeof(sl_errors[0]))

const sl_error_def *
sl_error_lookup(const char *code)
{
	size_t		lo = 0,
				hi = SL_NERRORS;

	if (code == NULL)
		return NULL;
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;
		int			c = strcmp(code, sl_errors[mid].code);

		if (c == 0)
			return &sl_errors[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const sl_error_def *
sl_error_table(size_t *count)
{
	if (count)
		*count = SL_NERRORS;
	return sl_errors;
}

int
sl_error_sqlstate(const sl_error_def *def, char out[6])
{
	int			s;

	if (def == NULL || def->http_status < 400 || def->http_status > 499)
		return -1;
	s = def->http_status;
	out[0] = 'P';
	out[1] = 'T';
	out[2] = (char) ('0' + s / 100);
	out[3] = (char) ('0' + (s / 10) % 10);
	out[4] = (char) ('0' + s % 10);
	out[5] = '\0';
	return 0;
}
