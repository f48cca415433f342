// Stripe for the relay (docs/relays.md): a PaymentIntent per startlijn
// payment, a refund per requested refund. Stripe's API takes form-encoded
// parameters and a secret key as the bearer token; the startlijn id is the
// Idempotency-Key, so a retry returns the object the first attempt created.
import {
  type Adapter,
  baseUrl,
  callJson,
  ConfigError,
  type CreatedPayment,
  env,
  type PaymentToCreate,
  type RefundStatus,
  type RefundToSend,
  requireEnv,
  type SentRefund,
} from "../_shared/startlijn.ts";

// Stripe's error object: {"error": {"type": ..., "code": ..., "message": ...}}
function stripeError(body: unknown): string {
  const e = ((body ?? {}) as Record<string, unknown>).error as Record<string, unknown> | undefined;
  if (!e) return "";
  return [e.type, e.code].filter((x) => typeof x === "string" && x).join("/");
}

function text(v: unknown): string | undefined {
  if (typeof v === "string" && v !== "") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}

// Stripe's refund statuses and ours (payments.refunds)
const REFUND_STATUS: Record<string, RefundStatus> = {
  pending: "pending",
  requires_action: "pending",
  succeeded: "succeeded",
  failed: "failed",
  canceled: "canceled",
};

export function stripeAdapter(): Adapter {
  const key = requireEnv("STRIPE_SECRET_KEY");
  if (!/^(sk|rk)_(live|test)_[A-Za-z0-9]+$/.test(key)) {
    throw new ConfigError("STRIPE_SECRET_KEY is not a Stripe secret or restricted key (sk_/rk_)");
  }
  const api = baseUrl("STRIPE_API_BASE", "https://api.stripe.com");
  const version = env("STRIPE_API_VERSION");
  const timeoutMs = Number(env("RELAY_TIMEOUT_MS") ?? 15000);

  const post = (path: string, idempotencyKey: string, form: URLSearchParams) => {
    const headers: Record<string, string> = {
      "Authorization": `Bearer ${key}`,
      "Content-Type": "application/x-www-form-urlencoded",
      "Idempotency-Key": idempotencyKey,
    };
    if (version) headers["Stripe-Version"] = version;
    return callJson(
      `stripe ${path}`,
      `${api}${path}`,
      { method: "POST", headers, body: form.toString() },
      timeoutMs,
      stripeError,
    ) as Promise<Record<string, unknown>>;
  };

  return {
    provider: "stripe",

    // POST /v1/payment_intents: amount (minor units), currency (lowercase),
    // automatic_payment_methods[enabled], description, metadata[...]
    async createPayment(p: PaymentToCreate): Promise<CreatedPayment> {
      const form = new URLSearchParams();
      form.set("amount", String(p.amount));
      form.set("currency", p.currency.toLowerCase());
      form.set("automatic_payment_methods[enabled]", "true");
      const description = text(p.metadata.description);
      if (description) form.set("description", description);
      form.set("metadata[payment_id]", p.payment_id);
      const orderId = text(p.metadata.order_id);
      if (orderId) form.set("metadata[order_id]", orderId);
      const pi = await post("/v1/payment_intents", p.payment_id, form);
      const id = pi.id, secret = pi.client_secret;
      if (typeof id !== "string" || !/^pi_[A-Za-z0-9]+$/.test(id)) {
        throw new Error("Stripe answered without a PaymentIntent id");
      }
      if (typeof secret !== "string" || !secret.startsWith(`${id}_secret_`)) {
        throw new Error(`Stripe answered ${id} without its client secret`);
      }
      if (pi.amount !== p.amount || pi.currency !== p.currency.toLowerCase()) {
        throw new Error(`Stripe answered ${id} with another amount or currency`);
      }
      return { provider_ref: id, client_secret: secret };
    },

    // POST /v1/refunds: payment_intent, amount, metadata[...]
    async sendRefund(r: RefundToSend): Promise<SentRefund> {
      const form = new URLSearchParams();
      form.set("payment_intent", r.payment_provider_ref);
      form.set("amount", String(r.amount));
      form.set("metadata[refund_id]", r.refund_id);
      form.set("metadata[payment_id]", r.payment_id);
      const re = await post("/v1/refunds", r.refund_id, form);
      const id = re.id, status = typeof re.status === "string" ? REFUND_STATUS[re.status] : undefined;
      if (typeof id !== "string" || !/^(re|pyr)_[A-Za-z0-9]+$/.test(id)) {
        throw new Error("Stripe answered without a refund id");
      }
      if (!status) throw new Error(`Stripe answered refund ${id} with a status we do not know`);
      return { provider_ref: id, status };
    },
  };
}
