"""Files beside a video while it is made, shared by the jobs (job) and the streams (stream): the hidden
temporary names and what they are recognised by (names), the sweep of what runs that died left behind,
their ffmpeg included (sweep), and the durable rename that publishes a verified file (publish). It may
import the base modules only, so that every layer that writes a video can use it.
"""
