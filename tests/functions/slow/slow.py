import time


def slow_handler(event, context):
    time.sleep(event.get("seconds", 1))
    return {"slept": event.get("seconds", 1)}
