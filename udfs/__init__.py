"""Validation and PII logic: pure Python, importable in both the job and the control environment."""
