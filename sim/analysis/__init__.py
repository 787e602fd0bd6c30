"""Analytic references and statistics used to validate simulator output."""
