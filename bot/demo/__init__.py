"""`switchboard demo`: an offline, scripted end-to-end run."""
