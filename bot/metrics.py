"""Prometheus metrics, one registry per hub (tests build many hubs in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from policies.types import Decision, Request

_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_SLOW = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.ack_seconds = Histogram(
            "switchboard_ack_seconds", "Time from request to acknowledgement", ["ingress"],
            buckets=_FAST, registry=r)
        self.inbound_total = Counter(
            "switchboard_inbound_total", "Inbound items by ingress and result",
            ["ingress", "result"], registry=r)  # result: stored|duplicate|rejected
        self.requests_total = Counter(
            "switchboard_requests_total", "Requests handled", ["source", "route", "outcome"],
            registry=r)
        self.request_seconds = Histogram(
            "switchboard_request_seconds", "Time to handle a request after ack", ["route"],
            buckets=_SLOW, registry=r)
        self.policy_decisions_total = Counter(
            "switchboard_policy_decisions_total", "Policy decisions", ["policy", "decision"],
            registry=r)
        self.connector_calls_total = Counter(
            "switchboard_connector_calls_total", "Connector calls",
            ["system", "operation", "outcome"], registry=r)
        self.connector_seconds = Histogram(
            "switchboard_connector_seconds", "Connector call latency", ["system", "operation"],
            buckets=_SLOW, registry=r)
        self.inbox_in_flight = Gauge(
            "switchboard_inbox_in_flight", "Inbox items being processed", registry=r)
        self.digests_total = Counter(
            "switchboard_digests_total", "Digests built, by trigger and outcome",
            ["trigger", "outcome"], registry=r)  # schedule|command|cli; posted|printed|failed
        self.digest_seconds = Histogram(
            "switchboard_digest_seconds", "Time to build (and post) one digest", ["trigger"],
            buckets=_SLOW, registry=r)
        self.digest_section_problems_total = Counter(
            "switchboard_digest_section_problems_total",
            "Digest sections shown as one line instead (not configured, could not load)",
            ["section"], registry=r)
        self.scheduler_claims_total = Counter(
            "switchboard_scheduler_claims_total",
            "Scheduled fires this process ran (won) or left to another process (lost)",
            ["result"], registry=r)
        self.workflow_runs_total = Counter(
            "switchboard_workflow_runs_total", "Workflow runs started and how they ended",
            ["workflow", "status"], registry=r)  # started|succeeded|compensated|cancelled|…
        self.workflow_step_seconds = Histogram(
            "switchboard_workflow_step_seconds", "Workflow step (and undo) latency",
            ["workflow", "step", "outcome"], buckets=_SLOW, registry=r)  # done|failed|undo
        self.llm_tokens_total = Counter(
            "switchboard_llm_tokens_total", "LLM tokens by model, direction and department",
            ["model", "direction", "department"], registry=r)  # direction: input|output
        self.llm_cost_usd_total = Counter(
            "switchboard_llm_cost_usd_total", "LLM spend in USD (list prices)",
            ["model", "department"], registry=r)
        self.llm_unpriced_total = Counter(
            "switchboard_llm_unpriced_calls_total", "Model runs with no price (counted at $0)",
            ["model"], registry=r)

    def decision(self, _: Request, decision: Decision) -> None:
        self.policy_decisions_total.labels(decision.policy, decision.kind).inc()

    def connector_call(self, system: str, operation: str, outcome: str, seconds: float) -> None:
        self.connector_calls_total.labels(system, operation, outcome).inc()
        self.connector_seconds.labels(system, operation).observe(seconds)

    def llm_usage(self, model: str, department: str | None, input_tokens: int,
                  output_tokens: int, usd: float) -> None:
        dept = department or "none"
        self.llm_tokens_total.labels(model, "input", dept).inc(input_tokens)
        self.llm_tokens_total.labels(model, "output", dept).inc(output_tokens)
        self.llm_cost_usd_total.labels(model, dept).inc(usd)

    def render(self) -> bytes:
        return generate_latest(self.registry)
