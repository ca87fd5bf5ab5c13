"""Hot reload: saved files change the code the next invoke runs, with no build step.

:mod:`.watcher` turns file events (watchdog's thread) or polling into "this folder changed",
debounced, on the event loop; :mod:`.folders` fingerprints a function's folders cheaply;
:mod:`.reloader` reads a changed function again, puts its new revision in the registry and
renews or retires its environments. The invocation seam asks the reloader, before each invoke,
for the function as its files are now.
"""
