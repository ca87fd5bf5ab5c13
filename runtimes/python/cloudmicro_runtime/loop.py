"""The main loop: start-up, ``sys.path``, the handler's import, then next -> handle -> response or
error until the process ends, and the in-place restart the platform asks for (hot reload)."""

from __future__ import annotations

import logging
import os
import sys

from .context import LambdaContext
from .errors import FaultException, RestartRequested, RuntimeApiError, error_from_exception, make_error, make_xray_fault
from .logs import (
    flush_output,
    log_error,
    log_level_from_env,
    make_output_unbuffered,
    set_current_invocation,
    setup_logging,
)
from .marshalling import marshal_response, parse_json_header, to_json, unmarshal_event
from .runtime_api import Invocation, RuntimeApiClient

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time; type checkers still see these names.
    from collections.abc import Mapping
    from typing import Any, Callable, NoReturn

    Handler = Callable[[Any, LambdaContext], Any]

UNHANDLED_INIT_WARNING = (
    "LAMBDA_WARNING: "
    "Unhandled exception. "
    "The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. "
    "To determine if the runtime has been updated, check the runtime version in the INIT_START log entry. "
    "If this error correlates with a change in the runtime version, you may be able to mitigate this error "
    "by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)
EXIT_INIT_ERROR = 1
EXIT_RUNTIME_API_ERROR = 1
#: the folder holding the entry script and this package (AWS's ``/var/runtime``)
RUNTIME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_handler(handler_name: str) -> Handler:
    """Import ``path/to/module.function`` exactly as awslambdaric's ``_get_handler``."""
    try:
        module_name, function_name = handler_name.rsplit(".", 1)
    except ValueError as exc:
        raise FaultException(FaultException.MALFORMED_HANDLER_NAME, f"Bad handler '{handler_name}': {exc}")
    import importlib

    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                f"Cannot use built-in module {module_name} as a handler module",
            )
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': {exc}"
        )
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR, f"Syntax error in module '{module_name}': {exc}", trace
        )
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND, f"Handler '{function_name}' missing on module '{module_name}'"
        )


def initialize(handler_name: str, api: RuntimeApiClient, json_format: bool) -> Handler:
    """Load the handler, or report the init error to the Runtime API and exit with status 1."""
    try:
        return load_handler(handler_name)
    except FaultException as fault:
        error = make_error(fault.msg, fault.exception_type, fault.trace)
    except Exception as exc:
        error = error_from_exception(exc)[0]
    logging.warning(UNHANDLED_INIT_WARNING)
    log_error(error, json_format)
    flush_output()
    api.post_init_error(to_json(error), error["errorType"])
    sys.exit(EXIT_INIT_ERROR)


def create_context(invocation: Invocation) -> LambdaContext:
    client_context = None
    if invocation.client_context:
        client_context = parse_json_header(invocation.client_context, "Client Context")
    cognito_identity = None
    if invocation.cognito_identity:
        cognito_identity = parse_json_header(invocation.cognito_identity, "Cognito Identity")
    return LambdaContext(
        invocation.request_id,
        client_context,
        cognito_identity,
        invocation.deadline_ms,
        invocation.function_arn,
        invocation.tenant_id,
    )


def update_xray_env(trace_id: str | None) -> None:
    if trace_id is not None:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)


def handle_invocation(api: RuntimeApiClient, handler: Handler, invocation: Invocation, json_format: bool) -> None:
    """Run the handler on one event and post its result or its error."""
    request_id = invocation.request_id
    try:
        context = create_context(invocation)
        event = unmarshal_event(invocation.body, invocation.content_type)
        result = handler(event, context)
        payload, content_type = marshal_response(result)
    except FaultException as fault:
        error = make_error(fault.msg, fault.exception_type, fault.trace, request_id)
        xray_fault = make_xray_fault("LambdaValidationError", fault.msg, [])
    except Exception as exc:  # BaseException (sys.exit, KeyboardInterrupt) ends the process
        error, xray_fault = error_from_exception(exc, request_id)
    else:
        flush_output()
        api.post_response(request_id, payload, content_type)
        return
    log_error(error, json_format)
    flush_output()
    api.post_error(request_id, to_json(error), to_json(xray_fault), error["errorType"])


def set_default_sys_path() -> None:
    """Task root, installed requirements, then the layers' python folders (see the package doc)."""
    import site  # already imported at start-up: free

    task_root = os.environ.get("LAMBDA_TASK_ROOT") or "/var/task"
    packages = [p for p in os.environ.pop("_CLOUDMICRO_PACKAGES", "").split(os.pathsep) if p]
    opt = os.environ.pop("_CLOUDMICRO_OPT", "/opt")
    layers: list[str] = []
    if opt and "PYTHONPATH" not in os.environ:
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        layers = [opt + "/python/lib/python" + version + "/site-packages", opt + "/python"]
    # the runtime's own folder (the AWS SDK) follows, as /var/runtime does on AWS; python -I
    # (the process executor) does not put the script's folder on sys.path by itself
    runtime_dir = os.environ.get("LAMBDA_RUNTIME_DIR") or RUNTIME_DIR
    runtime = [] if runtime_dir in sys.path else [runtime_dir]
    sys.path[0:0] = [task_root, *packages, *layers, *runtime]
    for folder in [task_root, *packages, *layers]:
        site.addsitedir(folder)
    trust_fresh_bytecode_only([task_root, opt] if opt else [task_root])


def trust_fresh_bytecode_only(folders: list[str]) -> None:
    """Cloudmicro's addition, for hot reload: modules under ``folders`` (the function's code and
    its layers, which the developer edits) use a ``__pycache__`` .pyc only when it was written
    more than a second after its source; otherwise they are compiled from source.

    Python trusts a .pyc whose recorded source mtime (whole seconds) and size match the file.
    One that host tooling (a unit test run, an IDE) compiled just before a save made within the
    same second at the same size would run the old code. The standard library, the SDK and
    installed requirements keep their .pyc files as usual (they are not edited), so cold starts
    stay fast.
    """
    import importlib.machinery as machinery
    import importlib.util

    roots = tuple(os.path.realpath(f) + os.sep for f in folders if f)

    class FreshBytecodeLoader(machinery.SourceFileLoader):
        def get_code(self, fullname):  # type: ignore[no-untyped-def]
            try:
                cached = importlib.util.cache_from_source(self.path)
                if os.stat(cached).st_mtime_ns > os.stat(self.path).st_mtime_ns + 1000000000:
                    return super().get_code(fullname)
            except (OSError, NotImplementedError, ValueError):
                pass
            return self.source_to_code(self.get_data(self.path), self.path)

    default_hook = machinery.FileFinder.path_hook(
        (machinery.ExtensionFileLoader, machinery.EXTENSION_SUFFIXES),
        (FreshBytecodeLoader, machinery.SOURCE_SUFFIXES),
        (machinery.SourcelessFileLoader, machinery.BYTECODE_SUFFIXES),
    )

    def hook(path):  # type: ignore[no-untyped-def]
        if not (os.path.realpath(path or ".") + os.sep).startswith(roots):
            raise ImportError("not a folder of the function's code")
        return default_hook(path)

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()


def restart(environ: Mapping[str, str]) -> NoReturn:
    """Start this runtime again in this process (hot reload: the function's code changed, and
    nothing else its container or process was made for): the interpreter with its original
    arguments, and ``environ``, the environment the runtime started with."""
    flush_output()
    args = list(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))[1:]
    os.execve(sys.executable, [sys.executable, *args], environ)


def run_loop(api: RuntimeApiClient, handler: Handler, json_format: bool) -> NoReturn:
    while True:
        invocation = api.next_invocation()
        set_current_invocation(invocation.request_id, invocation.tenant_id)
        update_xray_env(invocation.trace_id)
        handle_invocation(api, handler, invocation, json_format)


def main() -> None:
    # the environment the runtime starts with (set_default_sys_path removes Cloudmicro's
    # variables, and a handler may change others): a restart runs with this one
    start_environ = dict(os.environ)
    make_output_unbuffered()
    json_format = (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
    setup_logging(json_format, log_level_from_env(os.environ.get("AWS_LAMBDA_LOG_LEVEL")))
    handler_name = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else os.environ.get("_HANDLER", "")
    set_default_sys_path()
    try:
        address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
        if not address:
            raise RuntimeApiError("AWS_LAMBDA_RUNTIME_API is not set")
        api = RuntimeApiClient(address)
        handler = initialize(handler_name, api, json_format)
        run_loop(api, handler, json_format)
    except RestartRequested:
        restart(start_environ)
    except RuntimeApiError as exc:
        flush_output()
        sys.stderr.write(f"cloudmicro runtime: {exc}\n")
        sys.exit(EXIT_RUNTIME_API_ERROR)
