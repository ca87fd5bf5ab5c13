import os


def _writable(folder):
    try:
        with open(os.path.join(folder, ".cloudmicro-write-test"), "w") as handle:
            handle.write("x")
        os.remove(os.path.join(folder, ".cloudmicro-write-test"))
        return True
    except OSError:
        return False


def echo_handler(event, context):
    return {
        "tmp_writable": _writable("/tmp"),
        "task_writable": _writable(os.environ["LAMBDA_TASK_ROOT"]),
        "event": event,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "client_context": getattr(context.client_context, "custom", None),
        "env": dict(os.environ),
        "uid": os.getuid(),
        "cwd": os.getcwd(),
    }
