import time


def nap_handler(event, context):
    time.sleep(1)
    return "rested"
