import module_that_does_not_exist  # noqa: F401


def import_error_handler(event, context):
    return "unreachable"
