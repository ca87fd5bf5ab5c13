"""The example function: greets the person named in the event."""


def hello_handler(event, context):
    return {"message": f"Hello {event['first_name']} {event['last_name']}!"}
