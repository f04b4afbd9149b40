"""What the LLM work cost: prices, the ledger (one row per model run), and reports on it.

prices.py   list prices (prices.yaml) overridden by the policy file's `prices:`
ledger.py   writes rows; `month_spend`/`claim_alert` for the budget policy; `spend_by`,
            `daily_spend` for `/sb cost` and the digests
recorder.py after each agent answer: usage -> priced rows + Prometheus counters
"""
