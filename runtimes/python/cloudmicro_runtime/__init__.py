"""Cloudmicro's Python runtime: a stdlib-only twin of AWS's awslambdaric, as a small package.

Where it runs: never on the control plane. It runs inside the function's container
(``/var/runtime/cloudmicro_runtime``) or, with the process executor, as the function's own process
(``<state>/runtime/cloudmicro_runtime``), on whatever Python the function's Runtime names
(3.9 and up). So: the standard library only, ``from __future__ import annotations`` in every
module, and syntax Python 3.9 parses.

The container runs ``python3 /var/runtime/bootstrap.py [HANDLER]``. That entry script only imports
:mod:`.loop` and calls its ``main()``: Python compiles a script run as ``__main__`` at every start,
while this package is imported from the ``__pycache__`` the Docker image build and the process
executor write beforehand, for the interpreter that runs it.

Modules (one part each; the names stay clear of the standard library and of user code):

* :mod:`.loop`: start-up, ``sys.path``, the handler's import, next -> handle -> response or
  error, and the in-place restart (hot reload).
* :mod:`.runtime_api`: the small HTTP/1.1 client of the Runtime API.
* :mod:`.context`: the handler's ``context`` (LambdaContext, CognitoIdentity, ClientContext).
* :mod:`.logs`: unbuffered output, the text and JSON log formats, the logging handler and filter.
* :mod:`.marshalling`: JSON in and out, as awslambdaric's simplejson settings.
* :mod:`.errors`: fault types, error documents and X-Ray causes.

The runtime talks to the Lambda Runtime API served by the Cloudmicro platform at
``$AWS_LAMBDA_RUNTIME_API`` and behaves like awslambdaric 4.2.2 (``awslambdaric/bootstrap.py``
and its helper modules), the runtime interface client inside AWS's managed Python runtimes:

* Start-up: wrap stdout/stderr so every write is flushed at once; install the root logging
  handler (text ``[LEVEL]\\t<UTC time>.mmmZ\\t<request id>\\t<message>`` on stdout, or JSON
  lines when ``AWS_LAMBDA_LOG_FORMAT=JSON``; root level from ``AWS_LAMBDA_LOG_LEVEL``, else
  Python's default WARNING, as in awslambdaric); set sys.path as AWS's Python runtimes do (their
  ``/var/runtime/bootstrap.py``): ``$LAMBDA_TASK_ROOT`` first, then, unless ``PYTHONPATH`` is
  set, the layer folders ``/opt/python/lib/pythonX.Y/site-packages`` and ``/opt/python``, with
  ``.pth`` files in them processed (``site.addsitedir``).  Cloudmicro's additions: the packages
  installed from the function's requirements.txt (``_CLOUDMICRO_PACKAGES``) come right after the
  task root, where ``pip install -t`` puts them in a deployment package, and ``_CLOUDMICRO_OPT``
  stands for ``/opt`` (the process executor's merged layers; empty: no layers).  Both variables
  are removed from the environment before the handler is imported.
* Init: import the handler named by argv[1] or ``$_HANDLER`` (``path/to/module.function``).
  On failure, as awslambdaric 4.2.2 does (no per-invoke fault handler): log a LAMBDA_WARNING
  and the ``[ERROR]`` record, POST ``/runtime/init/error`` once (header
  ``Lambda-Runtime-Function-Error-Type: <errorType>``, ``requestId`` ""), exit with status 1.
* Loop: long-poll ``GET /runtime/invocation/next``, build the context from the headers, decode
  the JSON event, call ``handler(event, context)``, then POST ``/response`` with the JSON result
  or ``/error`` with ``{"errorMessage", "errorType", "requestId", "stackTrace"}``.  Output is
  flushed before every POST because the platform reads the process's stdout/stderr pipes and
  relies on an invocation's output preceding its result.
* Only ``Exception`` is caught around the handler: ``SystemExit`` (``sys.exit(3)``),
  ``KeyboardInterrupt`` and ``os._exit`` end the process with their own status and nothing is
  posted, exactly like awslambdaric; the platform notices the exit.

Deliberate differences from awslambdaric (which uses a C++/libcurl client and simplejson):

* HTTP is a small keep-alive HTTP/1.1 client on one ``socket`` (Content-Length and chunked
  bodies).  ``http.client`` would cost about 17 ms of cold start because it imports ``ssl`` and
  ``email``.  A request that fails before any response byte on a reused connection (the server
  closed an idle keep-alive connection) is retried at once on a new one; connection failures are
  retried with a short backoff (about 0.75 s in all), then the runtime exits with status 1 and a
  one-line message on stderr.  A non-2xx answer to ``/next`` also exits with status 1; a non-2xx
  answer to a POST is reported on stderr and the loop goes on.
* ``/error`` posts also carry ``Lambda-Runtime-Function-Error-Type: <errorType>`` (awslambdaric
  sends it only on ``/init/error``; AWS's Node.js client sends it on ``/error`` too), next to
  awslambdaric's ``Lambda-Runtime-Function-XRay-Error-Cause`` header.
* JSON is stdlib ``json``, emulating awslambdaric's simplejson settings: ``decimal.Decimal`` is
  written as its literal text (``Decimal("1.10")`` -> ``1.10``, NaN -> ``NaN``), nested ``bytes``
  are decoded as UTF-8, ``ensure_ascii`` is off only for ``AWS_EXECUTION_ENV`` python3.12+ (as
  in awslambdaric), and a UTF-8 BOM before the event is ignored.  Unlike simplejson, named tuples
  become JSON arrays and ``bytes`` dict keys are rejected.
* A ``/next`` answer without ``Content-Type`` is decoded as JSON (awslambdaric would pass the
  raw bytes); any other type than ``application/json`` passes the raw bytes, as awslambdaric.
* Not implemented: the ``_LAMBDA_TELEMETRY_LOG_FD`` framed log sink, SnapStart hooks,
  multi-concurrency (``AWS_LAMBDA_MAX_CONCURRENCY``), the preview-runtime warning.

Cold start is kept short: the modules are imported from bytecode compiled beforehand; only json,
logging, os, socket, sys and time are imported up front; traceback and importlib are imported
when first needed, decimal never (a Decimal result means the function imported it); an ASCII
Runtime API host is resolved as bytes to skip the idna codec.  This file imports nothing.
"""
