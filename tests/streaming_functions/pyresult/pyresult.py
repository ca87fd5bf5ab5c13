def pyresult_handler(event, context):
    return {"echo": event, "streamed": False}
