"""Xero: the Accounting API client (:mod:`.api`) and the Items CSV export reader (:mod:`.csv_file`)."""
