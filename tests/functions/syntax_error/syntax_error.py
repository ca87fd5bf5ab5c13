def syntax_error_handler(event, context)
    return "unreachable"
