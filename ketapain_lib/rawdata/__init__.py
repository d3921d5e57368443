"""Raw data: the contract of an export (:mod:`.schema`), reading one file (:mod:`.read`), the checks across files (:mod:`.checks`) and loading (:mod:`.load`)."""
