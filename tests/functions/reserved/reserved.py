import time


def reserved_handler(event, context):
    time.sleep(event.get("seconds", 1))
    return "done"
