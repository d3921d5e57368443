"""The paper: its published numbers (:mod:`.published`), the checks of their internal consistency
(:mod:`.consistency`, :mod:`.audit_structure`, :mod:`.audit`) and its conclusions (:mod:`.conclusions`)."""
