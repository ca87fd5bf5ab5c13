def drain_handler(event, context):
    return None
