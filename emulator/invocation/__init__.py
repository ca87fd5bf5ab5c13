"""Invocations: the one seam every invocation goes through, and what it runs on.

* :mod:`.service`: the seam (``InvokeService.execute``): refresh the function, take the
  concurrency lease, borrow an environment, run, record the log;
* :mod:`.invoke_api`: Lambda's Invoke operation (RequestResponse, Event, DryRun) on the seam;
* :mod:`.async_queue` and :mod:`.destinations`: the asynchronous queue behind Event invokes and
  every push source, with retries, destinations and dead-letter queues;
* :mod:`.environment`: an execution environment as an explicit state machine;
  :mod:`.pool`: the warm pool (borrow, release, discard, reap); :mod:`.runtime_ports`: one
  Runtime API port per environment;
* :mod:`.logs`, :mod:`.live_echo`, :mod:`.cloudwatch`: START/END/REPORT logs, kept, echoed live
  and written to CloudWatch Logs.

Everything here runs on the control plane's event loop; environments are started and stopped
by an executor (:mod:`emulator.executors`), which does its blocking work in threads.
"""
