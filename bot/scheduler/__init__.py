"""The hub's clock: APScheduler over the shared database, each fire run by exactly one process.

cron (parse and check), claims (who runs a fire), jobs (the stored job's entry point),
scheduler (AsyncIOScheduler + SQLAlchemyJobStore wrapped for several processes), models.
"""
