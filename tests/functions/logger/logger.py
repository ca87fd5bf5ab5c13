import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)
print("init output")


def logger_handler(event, context):
    print("hello from print")
    logger.info("hello from logging %s", event.get("n", 0))
    return "logged"
