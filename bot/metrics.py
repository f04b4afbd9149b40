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

    def decision(self, _: Request, decision: Decision) -> None:
        self.policy_decisions_total.labels(decision.policy, decision.kind).inc()

    def connector_call(self, system: str, operation: str, outcome: str, seconds: float) -> None:
        self.connector_calls_total.labels(system, operation, outcome).inc()
        self.connector_seconds.labels(system, operation).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
