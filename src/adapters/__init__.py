"""Adapters: one package per technology, named after it."""
