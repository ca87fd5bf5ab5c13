import time


def sleeper_handler(event, context):
    print("sleeping", event.get("seconds", 0))
    time.sleep(event.get("seconds", 0))
    return {"slept": event.get("seconds", 0)}
