class PaymentDeclined(Exception):
    pass


def raiser_handler(event, context):
    print("about to fail")
    raise PaymentDeclined(f"card {event.get('card', '?')} declined")
