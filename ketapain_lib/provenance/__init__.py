"""Provenance: the published numbers (:mod:`.published`), the synthetic-data generator (:mod:`.simulate`), its calibration and the ledger of published beside reproduced."""
