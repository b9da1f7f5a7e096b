"""Automation rules: rule files, the pure evaluator and the worker that acts on what it decides."""
