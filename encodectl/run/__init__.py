"""The batch modes behind `encodectl encode`: encode() from paths to results, sync or async (engine),
the async EncoderPool with its thread budgets and priority (pool) and jobs as Dask tasks
(dask_executor). It may import everything below it (ffmpeg, frames, job, lerobot), never watch, stream,
bench or report.
"""
