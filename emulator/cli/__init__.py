"""The ``cloudmicro`` command: thin commands that parse arguments and call plain functions."""
