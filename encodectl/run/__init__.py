"""The batch modes behind `encodectl encode`: encode() from paths to results, sync or async (engine),
the async EncoderPool with its thread budgets and priority (pool) and jobs as Dask tasks
(dask_executor). It may import everything below it (ffmpeg, frames, job, lerobot), never watch, stream,
bench or report. How paths become jobs is engine.py; how many run at once and with how many threads,
pool.py; what one job does is job/runner.py, not here.
"""
