"""The paper: its published numbers (:mod:`.published`), the same numbers computed from the raw data
(:mod:`.reproduce`) and set beside them (:mod:`.ledger`), the checks of their internal consistency
(:mod:`.consistency`, :mod:`.audit_structure`, :mod:`.audit`) and its conclusions (:mod:`.conclusions`)."""
