"""The XMRC benchmark's statistics: records, results, tests and intervals, the report (``python -m
mpcl_tevatron.xmrc.analysis.report``) and the comparison of two recipe folders (``python -m
mpcl_tevatron.xmrc.analysis.compare``)."""
