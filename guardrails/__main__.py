"""``python -m guardrails``: the same as the ``guardrails`` command."""

from guardrails.cli.main import main

raise SystemExit(main())
