"""One module per ``handgen`` sub-command: ``register(subparsers)`` adds it to the CLI."""
