"""Sub-commands of the `xietong` CLI; each module exposes `register(subparsers)`."""
