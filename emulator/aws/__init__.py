"""The local AWS services as the control plane's own code reaches them, and db_gen seeding.

* :mod:`.clients`: the one facade for talking to local AWS services (cached boto3 clients, a
  thread pool for their blocking calls, ``queue_url(arn)`` and ``send_to(arn, ...)``), over
  HTTP or, with the embedded moto, in process;
* :mod:`.backend`: what the control plane needs of the AWS backend (the ASGI app behind the
  gateway; :mod:`emulator.moto.backends` has the two kinds);
* :mod:`.requests`: what a request says of itself (its SigV4 service);
* :mod:`.db_gen` and :mod:`.seeding`: tables and items from ``db_gen/``.

Blocking code (boto3) runs in threads here, never on the event loop. Nothing here imports moto.
"""
