"""The XMRC benchmark's data: SQuAD-format reading, the segmenter, the builder (``python -m
mpcl_tevatron.xmrc.data.build``) and the tasks."""
