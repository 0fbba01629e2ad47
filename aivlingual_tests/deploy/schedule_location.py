"""The project's code location plus a schedule that ticks every minute, so a test can watch the daemon run one.

It builds the usage report, not the stock, so every stock run the daemon launches comes from stock_refresh_sensor."""

import dagster as dg

from aivlingual_assets import definitions as project
from aivlingual_assets.assets.learning import usage_report_job

every_minute_report = dg.ScheduleDefinition(
    name="every_minute_report", cron_schedule="* * * * *", job=usage_report_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

defs = dg.Definitions.merge(project.defs, dg.Definitions(schedules=[every_minute_report]))
