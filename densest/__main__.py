"""Run the ``densest`` command with ``python -m densest``."""

from densest._cli import main

raise SystemExit(main())
