"""The two JSON spellings Rolegate writes: compact, and canonical (compact with sorted keys).

Records are sealed and policies hashed over the canonical text, so it must
never change; one encoder of each is kept because ``json.dumps`` with options
builds a new encoder on every call, on the webhook's hot path.
"""
from __future__ import annotations

import json

compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
