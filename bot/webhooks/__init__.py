"""Webhooks: `POST /webhooks/{source}` from systems that call the hub.

Authentication, per source, from `SWITCHBOARD_WEBHOOK_SECRETS=source=secret,…`:

- `whsec_<base64>` (or any other secret without a prefix): Standard Webhooks
  signatures. The sender signs `{webhook-id}.{webhook-timestamp}.{body}` with
  HMAC-SHA256 (the key is the base64-decoded part after `whsec_`; a secret
  without the prefix is used as UTF-8 bytes) and sends `webhook-id`,
  `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64>`
  (several space-separated signatures are allowed, for key rotation).
- `bearer:<token>`: for systems that cannot sign, `Authorization: Bearer
  <token>`. The delivery id is the `webhook-id` or `Idempotency-Key` header;
  without either it is derived from a SHA-256 of the body (so an identical
  body is treated as a replay). A `webhook-timestamp`, if sent, is checked.

Either way: a timestamp more than 5 minutes off is refused (401), a bad or
missing signature or token is refused (401), a source that is not configured is
404, no secrets at all refuses every webhook (403), a body over 256 KiB is 413,
a body that does not match the source's schema is 400 naming the field. A good
delivery is stored in the inbox under `webhook:<source>:<delivery id>` and
answered 202 at once; the work happens after. A replayed delivery id stores
nothing and starts nothing (202, `"duplicate"`).
"""
