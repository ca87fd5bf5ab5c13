import os


def exiter_handler(event, context):
    print("exiting with", event.get("code", 3), flush=True)
    os._exit(event.get("code", 3))
