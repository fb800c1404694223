#!/usr/bin/env python3
"""Checks the event contract in this folder (schemas/).

1. Every events/<type>.schema.json is a valid draft 2020-12 schema, self-contained
   (internal "#/..." refs only, all resolving), with $id, title, description,
   type const = <type> and the data schema in $defs.data.
2. Every examples/<type>/*.json is validated against events/<type>.schema.json, with
   the "date-time" format enforced. One JSON line per example goes to stdout:
       {"file": "<path relative to schemas/>", "valid": true|false, "error": "<message>"|null}
   valid-*.json must be valid and invalid-*.json invalid; each type needs at least 2
   valid and 3 invalid examples.
3. asyncapi.yaml parses, says asyncapi 3.0.0, every $ref (local file or internal)
   resolves to an existing file and JSON pointer, and every event type's
   #/$defs/data is some message's payload.

Exit status 0 when everything holds; otherwise the problems go to stderr and the
status is 1. Needs Python 3 with jsonschema (4.10 or later, Debian's
python3-jsonschema) and PyYAML (python3-yaml). Usage: python3 schemas/check.py
"""

import json
import re
import sys
import urllib.parse
from pathlib import Path

try:
    import jsonschema
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import best_match
except ImportError:
    sys.exit("check.py: needs jsonschema (Debian: apt-get install python3-jsonschema)")
try:
    import yaml
except ImportError:
    sys.exit("check.py: needs PyYAML (Debian: apt-get install python3-yaml)")

ROOT = Path(__file__).resolve().parent
EVENTS = ROOT / "events"
EXAMPLES = ROOT / "examples"
ASYNCAPI = ROOT / "asyncapi.yaml"
SCHEMA_ID_BASE = "https://schemas.iomt.dev/events/"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

problems = []


def problem(message):
    problems.append(message)


# ---------------------------------------------------------------------------------------
# The date-time format. jsonschema only checks "date-time" when the optional
# rfc3339_validator package is installed, and that package accepts a trailing newline.
# The contract must be enforced the same way everywhere, so this script always uses
# its own strict RFC 3339 check: the shape of RFC 3339 section 5.6 (offset required)
# and a date that exists in the (proleptic Gregorian) calendar.

_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"(?:[Zz]|[+-]([0-9]{2}):([0-9]{2}))"
)


def _days_in_month(year, month):
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def is_date_time(instance):
    if not isinstance(instance, str):
        return True  # format only applies to strings; "type" handles the rest
    match = _DATE_TIME.fullmatch(instance)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
        return False
    if hour > 23 or minute > 59 or second > 60:  # 60: a leap second, as RFC 3339 allows
        return False
    if match.group(8) is not None and (int(match.group(8)) > 23 or int(match.group(9)) > 59):
        return False
    return True


def make_format_checker():
    checker = FormatChecker()
    checker.checks("date-time")(is_date_time)
    # Make sure format IS enforced, whatever the installed jsonschema does by default.
    probe = Draft202012Validator({"format": "date-time"}, format_checker=checker)
    assert not probe.is_valid("2026-02-30T10:00:00Z"), "date-time format is not enforced"
    assert not probe.is_valid("2026-11-25T10:00:00"), "date-time format is not enforced"
    assert not probe.is_valid("2026-11-25T10:00:00Z\n"), "date-time format is not enforced"
    assert probe.is_valid("2028-02-29T23:59:60.5+14:00"), "date-time format rejects a valid value"
    return checker


# ---------------------------------------------------------------------------------------
# JSON helpers

def _no_duplicate_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key %r" % key)
        result[key] = value
    return result


def _no_constants(name):
    raise ValueError("%s is not JSON" % name)


def load_json(path):
    """Strict JSON: no duplicate keys, no NaN/Infinity."""
    with open(path, encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)


_MISSING = object()


def resolve_pointer(document, fragment):
    """Resolves a URI fragment holding a JSON pointer ("" or "/a/b"); _MISSING if absent."""
    pointer = urllib.parse.unquote(fragment)
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        return _MISSING
    node = document
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return _MISSING
    return node


def iter_refs(node, where="#"):
    """Yields (location, ref) for every "$ref" string in a JSON/YAML tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from iter_refs(value, where + "/" + str(key).replace("~", "~0").replace("/", "~1"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from iter_refs(value, "%s/%d" % (where, index))


def relative(path):
    return path.relative_to(ROOT).as_posix()


def describe(error):
    path = "$"
    for part in error.absolute_path:
        path += "[%d]" % part if isinstance(part, int) else "." + str(part)
    return "%s: %s" % (path, error.message)


# ---------------------------------------------------------------------------------------
# 1. Schemas

def check_schemas():
    schemas = {}
    files = sorted(EVENTS.glob("*.schema.json"))
    if not files:
        problem("no schemas in %s" % relative(EVENTS))
    for path in files:
        name = relative(path)
        event_type = path.name[: -len(".schema.json")]
        try:
            schema = load_json(path)
        except ValueError as error:
            problem("%s: not JSON: %s" % (name, error))
            schemas[event_type] = None
            continue
        try:
            Draft202012Validator.check_schema(schema)
        except jsonschema.exceptions.SchemaError as error:
            problem("%s: not a valid draft 2020-12 schema: %s" % (name, error.message))
            schemas[event_type] = None
            continue
        if schema.get("$schema") != DRAFT_2020_12:
            problem("%s: $schema is not %s" % (name, DRAFT_2020_12))
        if schema.get("$id") != SCHEMA_ID_BASE + path.name:
            problem("%s: $id is not %s" % (name, SCHEMA_ID_BASE + path.name))
        for key in ("title", "description"):
            if not isinstance(schema.get(key), str) or not schema[key]:
                problem("%s: no %s" % (name, key))
        if schema.get("properties", {}).get("type", {}).get("const") != event_type:
            problem("%s: properties.type.const is not %r" % (name, event_type))
        if not isinstance(schema.get("$defs", {}).get("data"), dict):
            problem("%s: no $defs.data (the data schema the AsyncAPI document refers to)" % name)
        self_contained = True
        for where, ref in iter_refs(schema):
            if not ref.startswith("#"):
                problem("%s: %s: $ref %r is external; schemas must be self-contained" % (name, where, ref))
                self_contained = False
            elif resolve_pointer(schema, ref[1:]) is _MISSING:
                problem("%s: %s: $ref %r does not resolve" % (name, where, ref))
                self_contained = False
        # Examples are validated only against a self-contained schema (nothing is fetched).
        schemas[event_type] = schema if self_contained else None
    return schemas


# ---------------------------------------------------------------------------------------
# 2. Examples

def check_examples(schemas, checker):
    counts = {"valid": 0, "invalid": 0}
    folders = sorted(p for p in EXAMPLES.iterdir() if p.is_dir()) if EXAMPLES.is_dir() else []
    for event_type in sorted(schemas):
        if not (EXAMPLES / event_type).is_dir():
            problem("%s: no examples folder examples/%s" % (event_type, event_type))
    for folder in folders:
        event_type = folder.name
        if event_type not in schemas:
            problem("%s: no schema events/%s.schema.json" % (relative(folder), event_type))
            continue
        schema = schemas[event_type]
        if schema is None:
            problem("%s: not checked: its schema is broken (see above)" % relative(folder))
            continue
        validator = Draft202012Validator(schema, format_checker=checker)
        per_type = {"valid": 0, "invalid": 0}
        for path in sorted(folder.iterdir()):
            name = relative(path)
            if not re.match(r"(valid|invalid)-[a-z0-9][a-z0-9.-]*\.json$", path.name):
                problem("%s: example files are named valid-<what>.json or invalid-<what>.json" % name)
                continue
            expected = "valid" if path.name.startswith("valid-") else "invalid"
            try:
                instance = load_json(path)
            except ValueError as error:
                print(json.dumps({"file": name, "valid": False, "error": "not JSON: %s" % error}))
                problem("%s: not JSON: %s" % (name, error))
                continue
            error = best_match(validator.iter_errors(instance))
            actual = "valid" if error is None else "invalid"
            message = None if error is None else describe(error)
            print(json.dumps({"file": name, "valid": error is None, "error": message}))
            per_type[expected] += 1
            counts[expected] += 1
            if actual != expected:
                problem("%s: expected %s, got %s%s"
                        % (name, expected, actual, "" if error is None else " (%s)" % message))
        if per_type["valid"] < 2 or per_type["invalid"] < 3:
            problem("examples/%s: needs at least 2 valid and 3 invalid examples, has %d and %d"
                    % (event_type, per_type["valid"], per_type["invalid"]))
    return counts


# ---------------------------------------------------------------------------------------
# 3. AsyncAPI

def check_asyncapi(schemas):
    name = relative(ASYNCAPI)
    try:
        with open(ASYNCAPI, encoding="utf-8") as f:
            document = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as error:
        problem("%s: cannot read: %s" % (name, error))
        return 0
    if not isinstance(document, dict) or document.get("asyncapi") != "3.0.0":
        problem("%s: not an AsyncAPI 3.0.0 document" % name)
        return 0
    loaded = {}
    payload_refs = set()
    count = 0
    for where, ref in iter_refs(document):
        count += 1
        target, _, fragment = ref.partition("#")
        if target == "":
            if resolve_pointer(document, fragment) is _MISSING:
                problem("%s: %s: $ref %r does not resolve" % (name, where, ref))
            continue
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", target):
            problem("%s: %s: $ref %r is not a local file" % (name, where, ref))
            continue
        path = (ASYNCAPI.parent / urllib.parse.unquote(target)).resolve()
        if not path.is_file():
            problem("%s: %s: $ref %r: no file %s" % (name, where, ref, path))
            continue
        if path not in loaded:
            try:
                if path.suffix == ".json":
                    loaded[path] = load_json(path)
                else:
                    with open(path, encoding="utf-8") as f:
                        loaded[path] = yaml.safe_load(f)
            except (ValueError, yaml.YAMLError) as error:
                problem("%s: %s: $ref %r: cannot parse %s: %s" % (name, where, ref, path, error))
                continue
        if resolve_pointer(loaded[path], fragment) is _MISSING:
            problem("%s: %s: $ref %r: pointer #%s not in %s" % (name, where, ref, fragment, path.name))
            continue
        if where.endswith("/payload") and path.parent == EVENTS.resolve() and fragment == "/$defs/data":
            event_type = path.name[: -len(".schema.json")]
            payload_refs.add(event_type)
            check_message_type_header(name, document, where, event_type)
    for event_type in sorted(set(schemas) - payload_refs):
        problem("%s: no message has payload ./events/%s.schema.json#/$defs/data" % (name, event_type))
    return count


def check_message_type_header(name, document, payload_where, event_type):
    """The message whose payload is <type>'s data must pin the ce_type header to <type>."""
    message = resolve_pointer(document, payload_where[1: -len("/payload")])
    consts = [node["ce_type"].get("const") for node in _walk(message.get("headers"))
              if isinstance(node, dict) and isinstance(node.get("ce_type"), dict)]
    if event_type not in consts:
        problem("%s: %s: headers do not pin ce_type to %r"
                % (name, payload_where[: -len("/payload")], event_type))


def _walk(node):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


# ---------------------------------------------------------------------------------------

def main():
    checker = make_format_checker()
    schemas = check_schemas()
    counts = check_examples(schemas, checker)
    refs = check_asyncapi(schemas)
    summary = "%d schemas, %d examples (%d valid-*, %d invalid-*), %d $refs in asyncapi.yaml" % (
        sum(1 for schema in schemas.values() if schema is not None),
        counts["valid"] + counts["invalid"], counts["valid"], counts["invalid"], refs)
    if problems:
        for message in problems:
            print(message, file=sys.stderr)
        print("check.py: %d problem(s); %s" % (len(problems), summary), file=sys.stderr)
        return 1
    print("check.py: ok; %s" % summary, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
