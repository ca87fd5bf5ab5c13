"""Everything that runs inside moto, or patches it: the only package that imports moto.

* :mod:`.backends`: moto behind the endpoint, embedded (moto's WSGI app in this process) or
  external (a URL), as one ASGI interface.
* :mod:`.delivery`: where moto's threads hand events to our functions (an asynchronous Invoke
  through the endpoint), and which patches a request for a service needs.
* :mod:`.s3`, :mod:`.stepfunctions` and the push-source glue: patches of moto's delivery points
  (S3 notifications, SNS subscriptions, EventBridge targets, Scheduler and PutRule checks, Step
  Functions tasks). Their code runs in moto's threads, during the AWS call that caused them.
* :mod:`.sqs_speed`: the SQS hot path, pinned to moto 5.2.5.
* :mod:`.server`: moto's server with all of the above (the compose stack's ``moto`` service).
"""
