"""Shared infrastructure every app may use: request context, throttles, metrics, logging, fault
handling, strict JSON, cache helpers, database timeouts. No domain and no door: nothing here
imports an app (tests/ops/test_core_layering.py)."""
