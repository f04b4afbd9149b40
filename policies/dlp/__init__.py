"""Data-loss prevention: find secrets and PII in messages and tool payloads, then
block, redact or allow them as the policy file says. Pure: no I/O anywhere."""

from policies.dlp.config import DEFAULT_RULES, KINDS, Action, DlpConfig
from policies.dlp.scanner import DlpScanner, Finding, ScanResult

__all__ = ["DEFAULT_RULES", "KINDS", "Action", "DlpConfig", "DlpScanner", "Finding", "ScanResult"]
