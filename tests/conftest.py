"""Shared pytest setup. Test modules import helpers as ``tests.helpers.<module>``."""

from __future__ import annotations

import os

# Tests never reach the network: model hubs and tldextract's suffix-list download are off.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
