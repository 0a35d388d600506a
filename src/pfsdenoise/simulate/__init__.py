"""Dataset production: parameter sampling, one chunk through the observe step, shard writing.

:mod:`.sampling` draws stellar and observing parameters, :mod:`.chunk` simulates one chunk of
spectra (grid interpolation and the observe step), :mod:`.produce` writes it as a Parquet shard
with its provenance record.
"""
