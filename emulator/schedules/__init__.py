"""Schedules: EventBridge rules with a ScheduleExpression and EventBridge Scheduler schedules.

Pure parts first: :mod:`.cron` parses and validates ``cron``/``rate``/``at`` expressions and
computes firing times, :mod:`.timetable` plans the next firing of every schedule, :mod:`.events`
builds what a firing sends, and :mod:`.checks` holds the validations AWS applies when a rule or
schedule is created (moto's handlers call them, in moto's threads). :mod:`.reader` reads the
schedules from AWS (blocking calls, in a thread pool) and :mod:`.service` is the loop on the
control plane's event loop that refreshes the timetable and fires due schedules into the
asynchronous invocation queue.
"""
