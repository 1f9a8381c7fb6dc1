"""Reconcile jobs: the provider REST API against the call log (seed 003)."""
