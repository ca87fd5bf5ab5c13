"""The ``cloudmicro`` command: thin commands that parse arguments and call plain functions.

:mod:`.main` has the group and most commands, :mod:`.devloop` ``dev`` and ``logs``,
:mod:`.scaffold` ``new`` and ``events``; :mod:`.common` what they share and :mod:`.client`
the HTTP client of a running control plane. A command that needs a control plane uses the
running one or starts one for its length (:mod:`emulator.app.server`).
"""
