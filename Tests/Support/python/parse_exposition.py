#!/usr/bin/env python3
"""Parses a metrics exposition from standard input with the official prometheus-client
parsers and prints what they understood as JSON, so that Swift tests can compare values.

Usage: parse_exposition.py text|openmetrics < exposition

Output: a JSON list of families, each {"name", "type", "help", "samples"}, each sample
{"name", "labels", "value", "exemplar"}; numbers are written with Python's repr so that
NaN and infinities survive JSON. A parse error exits with status 1 and the message.
"""
import json
import sys

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text


def number(value):
    return None if value is None else repr(float(value))


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("text", "openmetrics"):
        print("usage: parse_exposition.py text|openmetrics", file=sys.stderr)
        return 2
    source = sys.stdin.read()
    parse = parse_text if sys.argv[1] == "text" else parse_openmetrics
    try:
        families = list(parse(source))
    except Exception as error:  # the parsers raise ValueError and others
        print(f"parse error: {error}", file=sys.stderr)
        return 1

    result = []
    for family in families:
        samples = []
        for sample in family.samples:
            exemplar = None
            if sample.exemplar is not None:
                timestamp = sample.exemplar.timestamp
                exemplar = {
                    "labels": sample.exemplar.labels,
                    "value": number(sample.exemplar.value),
                    "timestamp": None if timestamp is None else number(float(timestamp)),
                }
            samples.append({
                "name": sample.name,
                "labels": sample.labels,
                "value": number(sample.value),
                "exemplar": exemplar,
            })
        result.append({
            "name": family.name,
            "type": family.type,
            "help": family.documentation,
            "samples": samples,
        })
    json.dump(result, sys.stdout, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
