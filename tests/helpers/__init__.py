"""Helpers shared by the API tests (fakes live in ``tests/fakes``)."""
