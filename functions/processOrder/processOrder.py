"""The destinations example: processes an order, invoked asynchronously.

An order without items fails. Lambda then reports the outcome (see function.json): successes
and failures go as invocation records to the default EventBridge bus, where the rules made by
scripts/destinations-example route them to orderSucceeded and orderFailed.
"""


def processOrder_handler(event, context):
    items = event.get("items") or []
    if not items:
        raise ValueError(f"order {event.get('orderId')} has no items")
    total = sum(item["price"] * item.get("quantity", 1) for item in items)
    return {"orderId": event.get("orderId"), "status": "ACCEPTED", "total": round(total, 2)}
