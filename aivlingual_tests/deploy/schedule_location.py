"""The project's code location plus a schedule that ticks every minute, so a test can watch the daemon run one."""

import dagster as dg

from aivlingual_assets import definitions as project
from aivlingual_assets.jobs import stock_job

every_minute_stock = dg.ScheduleDefinition(
    name="every_minute_stock", cron_schedule="* * * * *", job=stock_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

defs = dg.Definitions.merge(project.defs, dg.Definitions(schedules=[every_minute_stock]))
