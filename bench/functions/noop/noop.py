def noop_handler(event, context):
    return event
