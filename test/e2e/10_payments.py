#!/usr/bin/python3
"""Payments end to end through the PostgREST-exact driver, each call committed
under its caller's role: the three signed webhook schemes as anon (paid,
duplicate, bad signature), Mollie classic and the relay as service_role,
refunds, chargebacks, exceptions and fee rules. Issue 20: before the ledger's
deferred balance trigger works under every role, every call that posts to
the ledger fails at COMMIT ("permission denied for schema payments")."""

import json

from lib import (ORG1, Tap, body_outcome, create_payment, mollie_headers, paid_payment, payment_state, payments_digest,
                 payments_fixture, std_headers, stripe_headers, stripe_obj, stripe_pi, su_deliver)

t = Tap()
api = t.api
acc = payments_fixture(t)


def deliveries(event_id):
    return t.su1('SELECT count(*) FROM payments.deliveries WHERE event_id = %s', (event_id,))


def signed_scheme(label, fn, provider, ref, amount, body, headers, bad_headers):
    """paid as anon; the same delivery again; a bad signature writes only its delivery record."""
    pid = create_payment(t, acc, provider, ref, amount)
    ev = json.loads(body).get('id') or headers.get('webhook-id')
    r = api.post_raw('anon', fn, body, headers)
    t.status(r, 200, '%s: a signed paid delivery as anon, committed under anon' % label)
    t.is_(body_outcome(r), 'applied', '%s: ... answers outcome applied' % label, r)
    t.is_(tuple(payment_state(t, pid)), ('paid', amount, 1),
          '%s: committed: the payment is paid, captured, with one balanced payment_received journal' % label)
    t.is_(t.su1("SELECT outcome FROM payments.deliveries WHERE event_id = %s ORDER BY id LIMIT 1", (ev,)), 'applied',
          '%s: committed: the delivery is recorded as applied' % label)
    t.is_(t.su1("SELECT body FROM payments.deliveries WHERE event_id = %s ORDER BY id LIMIT 1", (ev,)), body,
          '%s: committed: the raw body is kept byte for byte' % label)
    r = api.post_raw('anon', fn, body, headers)
    t.status(r, 200, '%s: the same delivery again' % label)
    t.is_(body_outcome(r), 'duplicate', '%s: ... is a duplicate' % label, r)
    t.is_((tuple(payment_state(t, pid)), deliveries(ev),
           t.su1('SELECT count(*) FROM payments.events WHERE event_id = %s', (ev,))),
          (('paid', amount, 1), 2, 1), '%s: committed: still one journal and one event, two delivery records' % label)
    before, n = payments_digest(t), t.su1('SELECT count(*) FROM payments.deliveries')
    r = api.post_raw('anon', fn, body, bad_headers)
    t.status(r, 401, '%s: a bad signature is refused' % label)
    t.is_((payments_digest(t), t.su1('SELECT count(*) FROM payments.deliveries'),
           t.su1("SELECT outcome FROM payments.deliveries ORDER BY id DESC LIMIT 1")),
          (before, n + 1, 'bad_signature'), '%s: committed: nothing but the refused delivery record is written' % label)
    return pid


# --- Stripe ---------------------------------------------------------------------
body = stripe_pi('evt_e2e_s1', 'payment_intent.succeeded', 'pi_e2e_s1', 12345)
p_stripe = signed_scheme('stripe', 'stripe_webhook', 'stripe', 'pi_e2e_s1', 12345, body, stripe_headers(body),
                         stripe_headers(body, secret='whsec_wrong_secret_000000'))

# --- Standard Webhooks ------------------------------------------------------------
body = json.dumps({'type': 'payment.paid', 'data': {'id': 'psp_e2e_1', 'amount': 4200, 'currency': 'EUR'}})
signed_scheme('standard', 'standard_webhook', 'standard', 'psp_e2e_1', 4200, body, std_headers('msg_e2e_1', body),
              std_headers('msg_e2e_1', body, secret='whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'))

# --- Mollie next-gen ----------------------------------------------------------------
body = json.dumps({'resource': 'event', 'id': 'event_e2e_m1', 'type': 'payment.updated', 'entityId': 'tr_e2em1',
                   '_embedded': {'entity': {'resource': 'payment', 'id': 'tr_e2em1', 'status': 'paid',
                                            'amount': {'value': '10.00', 'currency': 'EUR'}}}})
signed_scheme('mollie', 'mollie_webhook', 'mollie', 'tr_e2em1', 1000, body, mollie_headers(body),
              mollie_headers(body, secret='mollie-wrong-secret-000'))

# --- Mollie classic and the relay (service_role) -------------------------------------
p_classic = create_payment(t, acc, 'mollie', 'tr_e2eclassic', 2500)
r = api.post_raw('anon', 'mollie_classic_webhook', 'id=tr_e2eclassic', content_type='application/x-www-form-urlencoded')
t.status(r, 200, 'classic: a form-encoded id=tr_... as anon')
t.is_((body_outcome(r), t.su1('SELECT count(*) FROM payments.fetch_queue WHERE payment_id = %s::uuid', (p_classic,))),
      ('queued', 1), 'classic: committed: the payment is queued for the relay')
r = t.call('relay', 'service', 'payment_fetches', {'max_rows': 5})
t.is_([f.get('provider_ref') for f in (r.get('body') or [])], ['tr_e2eclassic'], 'relay: the lease lists the queued payment', r)
t.ok(t.su1('SELECT leased_until > now() FROM payments.fetch_queue WHERE payment_id = %s::uuid', (p_classic,)) is True,
     'relay: committed: the fetch is leased')
report = {'provider': 'mollie', 'provider_ref': 'tr_e2eclassic', 'status': 'paid', 'amount': 2500, 'currency': 'EUR'}
t.call('relay', 'anon', 'record_payment_status', report, want=401)
t.call('relay', 'daan', 'record_payment_status', report, want=403)
r = t.call('relay', 'service', 'record_payment_status', report)
t.is_(body_outcome(r), 'applied', 'relay: the fetched status applies', r)
t.is_((tuple(payment_state(t, p_classic)), t.su1('SELECT count(*) FROM payments.fetch_queue WHERE payment_id = %s::uuid',
                                                 (p_classic,))),
      (('paid', 2500, 1), 0), 'relay: committed: paid with its journal, the fetch done')
r = t.call('relay', 'service', 'record_payment_status', report)
t.is_((body_outcome(r), tuple(payment_state(t, p_classic))), ('duplicate', ('paid', 2500, 1)),
      'relay: reported twice, applied once (committed)', r)

# --- refunds: owners, finance and the superadmin -----------------------------------
# on a payment made paid by the setup (superuser), so that these steps do not depend on the webhooks above
p_stripe = paid_payment(t, acc, 'pi_e2e_r1', 12345)
def refunds_of(pid):
    return t.su("SELECT amount, status, requested_by::text FROM payments.refunds WHERE payment_id = %s::uuid ORDER BY created_at",
                (pid,))


def reserved(pid):
    return t.su1("SELECT count(*) FROM payments.journal WHERE payment_id = %s::uuid AND kind = 'refund_reserved'", (pid,))


r = t.call('refund', 'daan', 'request_refund', {'payment_id': p_stripe, 'amount': 5000, 'reason': 'injured',
                                                'idempotency_key': 'e2e-refund-1'})
rid = (r.get('body') or {}).get('id')
t.is_((refunds_of(p_stripe), reserved(p_stripe), t.su1('SELECT refunded FROM payments.payments WHERE id = %s::uuid', (p_stripe,))),
      ([(5000, 'requested', '00000000-0000-4000-a000-000000000004')], 1, 5000),
      'refund: committed: requested by finance, reserved in the ledger, counted as refunded')
r = t.call('refund replay', 'daan', 'request_refund', {'payment_id': p_stripe, 'amount': 5000, 'reason': 'injured',
                                                       'idempotency_key': 'e2e-refund-1'})
t.is_(((r.get('body') or {}).get('id'), len(refunds_of(p_stripe))), (rid, 1),
      'refund: the same idempotency key returns the same refund; nothing new committed')
t.call('refund', 'anna', 'request_refund', {'payment_id': p_stripe, 'amount': 1000})
t.call('refund', 'sanne', 'request_refund', {'payment_id': p_stripe, 'amount': 345})
t.is_((len(refunds_of(p_stripe)), reserved(p_stripe), t.su1('SELECT refunded FROM payments.payments WHERE id = %s::uuid', (p_stripe,))),
      (3, 3, 6345), 'refund: committed: the owner and the superadmin requested refunds too')
t.call('refund', 'bram', 'request_refund', {'payment_id': p_stripe, 'amount': 1}, want=403)
t.call('refund', 'daan', 'request_refund', {'payment_id': p_stripe, 'amount': 6001}, want=409)
# the provider's refund event completes the first one (matched by amount)
body = stripe_obj('evt_e2e_re1', 'refund.updated', {'id': 're_e2e_1', 'object': 'refund', 'amount': 5000, 'currency': 'eur',
                                                     'payment_intent': 'pi_e2e_r1', 'status': 'succeeded'})
r = api.post_raw('anon', 'stripe_webhook', body, stripe_headers(body))
t.status(r, 200, 'refund: the provider\'s refund.updated as anon')
t.is_(t.su1("SELECT status || ' ' || COALESCE(provider_ref, '-') FROM payments.refunds WHERE id = %s::uuid", (rid,)),
      'succeeded re_e2e_1', 'refund: committed: linked to the provider\'s id and succeeded')
t.is_(t.su1("SELECT count(*) FROM payments.journal WHERE payment_id = %s::uuid AND kind = 'refund_paid'", (p_stripe,)), 1,
      'refund: committed: refund_paid posted')

# --- chargebacks (Stripe disputes and Standard Webhooks chargebacks) ---------------
p_cb = paid_payment(t, acc, 'pi_e2e_cb', 7000)
for ev, typ, status, want in (('evt_e2e_cb1', 'charge.dispute.created', 'needs_response', 'received'),
                              ('evt_e2e_cb2', 'charge.dispute.closed', 'won', 'reversed')):
    body = stripe_obj(ev, typ, {'id': 'dp_e2e_1', 'object': 'dispute', 'amount': 7000, 'currency': 'eur',
                                'payment_intent': 'pi_e2e_cb', 'status': status})
    r = api.post_raw('anon', 'stripe_webhook', body, stripe_headers(body))
    t.status(r, 200, 'chargeback: %s as anon' % typ)
    t.is_(t.su1("SELECT status FROM payments.chargebacks WHERE provider_ref = 'dp_e2e_1'"), want,
          'chargeback: committed: the dispute is %s' % want)
t.is_(t.su1("""SELECT COALESCE(sum(x.amount), 0) FROM payments.postings x JOIN payments.journal j ON j.id = x.journal_id
                WHERE j.payment_id = %s::uuid AND x.account = 'chargebacks'""", (p_cb,)), 0,
      'chargeback: committed: won, the money is back (chargebacks account 0)')
p_cb2 = create_payment(t, acc, 'standard', 'psp_e2e_cb', 3000)
body = json.dumps({'type': 'payment.paid', 'data': {'id': 'psp_e2e_cb', 'amount': 3000, 'currency': 'EUR'}})
su_deliver(t, 'standard', body, std_headers('msg_e2e_cb0', body))
for n, st in ((1, 'received'), (2, 'lost')):
    body = json.dumps({'type': 'chargeback.' + st, 'data': {'id': 'cb_e2e_1', 'payment_id': 'psp_e2e_cb', 'amount': 3000,
                                                              'currency': 'EUR'}})
    r = api.post_raw('anon', 'standard_webhook', body, std_headers('msg_e2e_cb%d' % n, body))
    t.status(r, 200, 'chargeback: standard chargeback.%s as anon' % st)
t.is_((t.su1("SELECT status FROM payments.chargebacks WHERE provider_ref = 'cb_e2e_1'"),
       t.su1('SELECT charged_back FROM payments.payments WHERE id = %s::uuid', (p_cb2,))),
      ('lost', 3000), 'chargeback: committed: lost, charged back')

# --- exceptions: paid after canceled, resolved by owner, finance, superadmin ---------
for who, resolution, ref in (('anna', 'allocated', 'pi_e2e_x1'), ('daan', 'dismissed', 'pi_e2e_x2'),
                             ('sanne', 'refunded', 'pi_e2e_x3')):
    pid = create_payment(t, acc, 'stripe', ref, 2000)
    for ev, typ in (('evt_%s_c' % ref, 'payment_intent.canceled'), ('evt_%s_p' % ref, 'payment_intent.succeeded')):
        body = stripe_pi(ev, typ, ref, 2000)
        su_deliver(t, 'stripe', body, stripe_headers(body))   # setup; the webhooks as anon are tested above
    t.is_(t.su1('SELECT exception FROM payments.payments WHERE id = %s::uuid', (pid,)), 'paid_after_canceled',
          'exception: committed: paid after canceled is an exception (%s)' % ref)
    r = t.call('exception', who, 'resolve_payment_exception', {'payment_id': pid, 'resolution': resolution})
    t.is_(t.su1('SELECT resolution FROM payments.payments WHERE id = %s::uuid', (pid,)), resolution,
          'exception: committed: resolved as %s by %s' % (resolution, who))
t.call('exception', 'bram', 'resolve_payment_exception', {'payment_id': pid, 'resolution': 'dismissed'}, want=403)

# --- fee rules: the superadmin only ----------------------------------------------------
t.call('fee rule', 'anna', 'set_fee_rule', {'organization_id': ORG1, 'name': 'hq', 'account': 'fee:hq', 'basis_points': 100},
       want=403)
t.call('fee rule', 'sanne', 'set_fee_rule', {'organization_id': ORG1, 'name': 'hq', 'account': 'fee:hq',
                                             'basis_points': 100, 'position': 2})
t.is_(t.su1("SELECT basis_points FROM payments.fee_rules WHERE organization_id = %s::uuid AND name = 'hq'", (ORG1,)), 100,
      'fee rule: committed')

# --- reads (read-only transactions) and the ledger -------------------------------------
t.call('read', 'daan', 'payments', {'organization_id': ORG1})
t.call('read', 'daan', 'payment', {'payment_id': p_stripe})
r = t.call('read', 'anna', 'ledger_balances', {'organization_id': ORG1})
t.is_(sum(b['balance'] for b in (r.get('body') or [])), 0, 'ledger: the balances sum to zero', r)
t.is_(t.su1('SELECT count(*) FROM payments.ledger_problems()'), 0, 'ledger: every committed entry balances')
t.done()
