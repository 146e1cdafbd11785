"""Company and brand names from registry packages (training script only).

- vehicle makes: the manufacturer names of vininfo's WMI table (https://github.com/idlesign/vininfo,
  BSD 3-clause), e.g. "Ford", "Alfa Romeo", "Škoda";
- device brands: the brand names that uap-core's user-agent rules assign (``brand_replacement``), as
  packaged by ua-parser-builtins (https://github.com/ua-parser/uap-core, Apache-2.0), e.g. "Philips".

The device file is read as text (importing it needs the ua-parser package).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

# Placeholders of the device rules, not brands.
_NOT_BRANDS = frozenset({"generic", "generic_android", "generic_android_tablet", "generic_inettv", "spider", "assistant"})
_PARENS = re.compile(r"\s*\([^)]*\)")


def vehicle_makes() -> list[str]:
    from vininfo.dicts.wmi import WMI

    out = set()
    for value in WMI.values():
        name = _PARENS.sub("", str(value)).strip()
        for part in re.split(r"\s*[/,]\s*", name):  # "Piaggio/Vespa/Gilera", "Scania, Katrineholm"
            if part and not part.lower().startswith(("replica", "kit")):
                out.add(part)
    return sorted(out)


def device_brands() -> list[str]:
    spec = importlib.util.find_spec("ua_parser_builtins")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("ua-parser-builtins is not installed (the train extra)")
    src = (Path(list(spec.submodule_search_locations)[0]) / "regexes.py").read_text(encoding="utf-8")
    out = set()
    for line in src.splitlines():
        if not line.strip().startswith("DeviceParser("):
            continue
        args = re.findall(r"'((?:[^'\\]|\\.)*)'|None", line)
        if len(args) >= 4 and args[3] and "$" not in args[3] and args[3].lower() not in _NOT_BRANDS:
            out.add(args[3])
    return sorted(out)


def brands() -> dict[str, list[str]]:
    """Brand names by source: ``vehicle`` and ``device``."""
    return {"vehicle": vehicle_makes(), "device": device_brands()}
