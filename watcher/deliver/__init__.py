"""Delivery: the outbox and the channels that drain it.

- `filters` — which stories a webhook (or subscriber) wants. Pure.
- `webhooks` — webhook bodies (standard, Slack) and Standard Webhooks signing. Pure.
- `policy` — what an attempt's outcome means: retry schedule, dead, disabled. Pure.
- `guard` — which addresses webhooks may go to (SSRF rule).
- `enqueue` — creates deliveries inside the poll's transaction.
- `sender` — the webhook channel: one POST per attempt, errors mapped once.
- `outbox` — the worker: one per recipient, in order, concurrent across recipients.
- `lease` — claims: who may send a delivery now, and for how long (two processes, one state file).
"""
