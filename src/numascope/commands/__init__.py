"""Subcommands of `numascope`; each module has `register(subparsers)`."""
