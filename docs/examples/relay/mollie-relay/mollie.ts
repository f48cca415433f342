// Mollie for the relay (docs/relays.md): a payment per startlijn payment
// (the participant pays at its _links.checkout.href), a refund per
// requested refund, and the payments Mollie's classic webhook named (Mollie
// posts only id=tr_...: the relay fetches the payment and reports it).
// Mollie's API takes JSON, an API key (live_/test_) or access token as the
// bearer token, amounts as {currency, value: "12.50"}; the startlijn id is
// the Idempotency-Key.
import {
  type Adapter,
  anonKey,
  baseUrl,
  callJson,
  ConfigError,
  type CreatedPayment,
  env,
  type FetchedPayment,
  type PaymentToCreate,
  type RefundStatus,
  type RefundToSend,
  requireEnv,
  type SentRefund,
  toDecimal,
  toMinor,
} from "../_shared/startlijn.ts";

// Mollie's error object: {"status": 422, "title": "Unprocessable Entity", "detail": ..., "field": ...}
function mollieError(body: unknown): string {
  const o = (body ?? {}) as Record<string, unknown>;
  return [o.title, o.field].filter((x) => typeof x === "string" && x).join("/");
}

function text(v: unknown): string | undefined {
  if (typeof v === "string" && v !== "") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}

function httpsUrl(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  try {
    return new URL(v).protocol === "https:" ? v : undefined;
  } catch {
    return undefined;
  }
}

// Mollie's refund statuses and ours (payments.refunds)
const REFUND_STATUS: Record<string, RefundStatus> = {
  queued: "pending",
  pending: "pending",
  processing: "pending",
  refunded: "succeeded",
  failed: "failed",
  canceled: "canceled",
};
const PAYMENT_STATUSES = ["open", "pending", "authorized", "paid", "failed", "canceled", "expired"];

export function mollieAdapter(): Adapter {
  const key = requireEnv("MOLLIE_API_KEY");
  if (!/^(live|test|access)_[A-Za-z0-9]+$/.test(key)) {
    throw new ConfigError("MOLLIE_API_KEY is not a Mollie API key (live_/test_) or access token (access_)");
  }
  const api = baseUrl("MOLLIE_API_BASE", "https://api.mollie.com");
  const timeoutMs = Number(env("RELAY_TIMEOUT_MS") ?? 15000);
  const redirectFallback = env("MOLLIE_REDIRECT_URL");
  if (redirectFallback !== undefined && !httpsUrl(redirectFallback)) {
    throw new ConfigError("MOLLIE_REDIRECT_URL must be an https URL");
  }
  // where Mollie posts id=tr_... when a payment changes: startlijn's classic
  // webhook through the gateway (which wants the public anon key); "none"
  // for accounts that use next-gen webhooks only
  let webhookUrl = env("MOLLIE_WEBHOOK_URL");
  if (webhookUrl === "none") {
    webhookUrl = undefined;
  } else if (webhookUrl === undefined) {
    const anon = anonKey();
    webhookUrl = `${baseUrl("SUPABASE_URL", "")}/rest/v1/rpc/mollie_classic_webhook` +
      (anon ? `?apikey=${encodeURIComponent(anon)}` : "");
  }

  const call = (method: "GET" | "POST", path: string, idempotencyKey?: string, body?: unknown) => {
    const headers: Record<string, string> = { "Authorization": `Bearer ${key}`, "Accept": "application/hal+json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    return callJson(
      `mollie ${method} ${path.replace(/tr_[A-Za-z0-9]+/, "{id}")}`,
      `${api}${path}`,
      { method, headers, body: body === undefined ? undefined : JSON.stringify(body) },
      timeoutMs,
      mollieError,
    ) as Promise<Record<string, unknown>>;
  };

  return {
    provider: "mollie",

    // POST /v2/payments: amount, description, redirectUrl, webhookUrl, metadata
    async createPayment(p: PaymentToCreate): Promise<CreatedPayment> {
      const redirectUrl = httpsUrl(p.metadata.return_url) ?? redirectFallback;
      if (!redirectUrl) {
        throw new Error("the payment has no return_url in its metadata and MOLLIE_REDIRECT_URL is not set");
      }
      const orderId = text(p.metadata.order_id);
      const body = {
        amount: { currency: p.currency, value: toDecimal(p.amount, p.currency) },
        description: (text(p.metadata.description) ?? p.payable_ref).slice(0, 255),
        redirectUrl,
        ...(webhookUrl ? { webhookUrl } : {}),
        metadata: { payment_id: p.payment_id, ...(orderId ? { order_id: orderId } : {}) },
      };
      const tr = await call("POST", "/v2/payments", p.payment_id, body);
      const id = tr.id;
      if (typeof id !== "string" || !/^tr_[A-Za-z0-9]+$/.test(id)) {
        throw new Error("Mollie answered without a payment id");
      }
      const amount = (tr.amount ?? {}) as Record<string, unknown>;
      if (amount.currency !== p.currency || amount.value !== body.amount.value) {
        throw new Error(`Mollie answered ${id} with another amount`);
      }
      const links = (tr._links ?? {}) as Record<string, Record<string, unknown> | undefined>;
      const checkout = httpsUrl(links.checkout?.href);
      return { provider_ref: id, ...(checkout ? { checkout_url: checkout } : {}) };
    },

    // POST /v2/payments/{id}/refunds: amount, metadata
    async sendRefund(r: RefundToSend): Promise<SentRefund> {
      const body = {
        amount: { currency: r.currency, value: toDecimal(r.amount, r.currency) },
        metadata: { refund_id: r.refund_id, payment_id: r.payment_id },
      };
      const re = await call(
        "POST",
        `/v2/payments/${encodeURIComponent(r.payment_provider_ref)}/refunds`,
        r.refund_id,
        body,
      );
      const id = re.id, status = typeof re.status === "string" ? REFUND_STATUS[re.status] : undefined;
      if (typeof id !== "string" || !/^re_[A-Za-z0-9]+$/.test(id)) {
        throw new Error("Mollie answered without a refund id");
      }
      if (!status) throw new Error(`Mollie answered refund ${id} with a status we do not know`);
      return { provider_ref: id, status };
    },

    // GET /v2/payments/{id}: status and amount, for api.record_payment_status
    async fetchPayment(providerRef: string): Promise<FetchedPayment> {
      const tr = await call("GET", `/v2/payments/${encodeURIComponent(providerRef)}`);
      const amount = (tr.amount ?? {}) as Record<string, unknown>;
      if (tr.id !== providerRef || typeof tr.status !== "string" || !PAYMENT_STATUSES.includes(tr.status)) {
        throw new Error(`Mollie answered ${providerRef} without a payment status we know`);
      }
      if (typeof amount.currency !== "string" || typeof amount.value !== "string") {
        throw new Error(`Mollie answered ${providerRef} without its amount`);
      }
      return { status: tr.status, amount: toMinor(amount.value, amount.currency), currency: amount.currency };
    },
  };
}
