"""Digests: a channel's regular picture of what happened and what it cost.

fetch (each section on its own, with a timeout) -> build (pure: Block Kit + text)
-> service (post, chart into the thread) <- timetable (keeps the scheduler's jobs in step
with the schedules) <- commands (`/sb digest …`), CLI (`switchboard digest run`).
"""
