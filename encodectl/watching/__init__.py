"""`encodectl watch`: encodes each episode as soon as it is complete, beside a recorder (watcher),
and finishes a LeRobot dataset whenever nobody writes it (dataset). It may import every layer below
(ffmpeg, frames, job, lerobot, run, stream), never benchmarking, report or api. Called `watching` so that
`encodectl.watch` is the command's function (api.py).

Each pass of the watcher observes every episode folder (observe.py: an Observation per folder),
decides from that alone (rules.py: complete? stream? adopt? redo? refuse? fall back?) and acts
(act.py, and streams.py for --stream); the loop, lock, events and shutdown are watcher.py.
Every change of an episode's ledger state goes through ledger_gateway.py, which refuses an
illegal one. Where to make a change: when an episode counts as complete or is redone, rules.py;
what is read from disk, observe.py (signature.py for the frames' signature, walker.py for finding
folders); what a state may become, ledger_gateway.py; the options and summary, options.py; what the
parts of one run share, context.py.
"""
