"""The synthetic data: the generator (:mod:`.simulate`, :mod:`.domains`, :mod:`.assumptions`), its calibration
(:mod:`.calibration`), the reconstruction of the diaries (:mod:`.diary_search`, :mod:`.sprite`, :mod:`.reconstruct`,
:mod:`.replay`) and what each aimed at (:mod:`.targeting`, which marks the paper's ledger). It builds on
:mod:`ketapain_lib.paper`, whose numbers it aims at."""
