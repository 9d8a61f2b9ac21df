"""Vigil's Python rule worker: newline-delimited JSON requests on stdin, one JSON response line per request on stdout.

Ops: configure {globals?, dataModels?}; load {ruleId, path, optionalRule?};
run {ruleId, event, dataModel?, udmValues?, mocks?, timeSecs?, state?};
run_batch {ruleIds, events, udmValues?, filtered?, timesSecs?, state?}; udm {events}.

configure registers a Panther repository's global helpers (importable by GlobalID, winning over the built-in py/
modules) and data models (chosen by each event's p_log_type; `dataModel` in a run request overrides that, null meaning
none). `udmValues` carries per event the values of a data model computed in TypeScript (Vigil's built-in OpenAI.Audit
model). `filtered` lists per event the rule ids whose InlineFilters (evaluated in TypeScript) rejected it: those rules
return False without running, as in Panther. `udm` computes every mapping of the registered data model for each event,
for TypeScript rules whose data model has Python methods.
Follows Panther's production semantics: rule() must return a bool; the auxiliary functions run only when it is True;
each function's exception is captured on its own. Defaults, truncation and dedup are applied by the TypeScript engine.

Rule state (panther_detection_helpers.caching, see py/vigil_state.py): `state` is the rule state of the batch's
source, {ruleId: [[key, value, counter, members, expiresAtSecs], ...]}, and `timesSecs` the events' times. Writes
are applied in order, seen by later events of the request, and returned as `ops` with each (event, rule) result;
writes made in a rule() that raises (or returns a non-bool) are undone.
"""

import importlib.util
import json
import os
import sys
import sysconfig
import traceback
from collections.abc import Mapping
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "py"))

import vigil_repository  # noqa: E402
import vigil_state  # noqa: E402
from panther_event import PantherEvent  # noqa: E402

# Rules that print must not corrupt the protocol: keep a private handle on the real stdout, send fd 1 to stderr.
_OUT = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr

AUX_FUNCTIONS = ("title", "description", "reference", "severity", "runbook", "destinations", "dedup", "alert_context", "unique")
STR_FUNCTIONS = {"title", "description", "reference", "severity", "runbook", "dedup", "unique"}

_rules = {}  # ruleId -> (module, {fn name: callable})
_counter = [0]


class FunctionReturnTypeError(Exception):
    pass


_SELF = os.path.abspath(__file__)
# Vigil's Python beside this worker (PantherEvent, the Panther helpers it provides), and Python's own library.
_LIBRARY_DIRS = tuple(
    os.path.abspath(p)
    for p in {
        os.path.join(os.path.dirname(_SELF), "py"),
        sysconfig.get_paths().get("stdlib"),
        sysconfig.get_paths().get("platstdlib"),
    }
    if p
)


def _is_library(filename):
    """A frame of this worker, of Vigil's Python helpers, of Python's library, or a builtin ("<frozen …>")."""
    if filename.startswith("<"):
        return True
    path = os.path.abspath(filename)
    return path == _SELF or any(path.startswith(d + os.sep) for d in _LIBRARY_DIRS)


def _error(exc):
    out = {"type": type(exc).__name__, "message": str(exc)}
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    # The rule's own frames (its module, its repository's helpers), not Vigil's (this worker, its PantherEvent)
    # nor Python's: `event["missing"]` fails inside PantherEvent, but the line to fix is the rule's. A check this
    # worker raised (a wrong return type) has no place in the rule to point at, and names none.
    frames = [f for f in frames if not _is_library(f.filename)]
    if isinstance(exc, SyntaxError) and exc.filename and not _is_library(exc.filename):
        # The line that does not parse is in no frame: it never ran. Its place goes in `where`, as for the others
        # (str() of a SyntaxError appends it to the message).
        out["message"] = exc.msg
        out["where"] = f"{os.path.basename(exc.filename)}, line {exc.lineno}"
    elif frames:
        last = frames[-1]
        out["where"] = f"{os.path.basename(last.filename)}, line {last.lineno}, in {last.name}"
    return out


def _always_true(_event):
    return True


def _load(rule_id, path, optional_rule=False):
    _counter[0] += 1
    name = f"vigil_rule_{_counter[0]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load a Python module from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if optional_rule and getattr(module, "rule", None) is None:
        module.rule = _always_true  # a scheduled rule's rule() is optional and defaults to True (Panther)
    if not callable(getattr(module, "rule", None)):
        raise AttributeError("detection needs to have a method named 'rule'")
    _rules[rule_id] = module
    return [fn for fn in AUX_FUNCTIONS if callable(getattr(module, fn, None))]


def _check(name, value):
    if name in STR_FUNCTIONS:
        if not isinstance(value, str):
            raise FunctionReturnTypeError(f"{name}() must return a string, got {type(value).__name__}")
        return value
    if name == "destinations":
        if value is None:
            return None
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise FunctionReturnTypeError("destinations() must return a list of strings or None")
        return list(value)
    if name == "alert_context":
        if not isinstance(value, Mapping):
            raise FunctionReturnTypeError(f"alert_context() must return a dict, got {type(value).__name__}")
        # Serialize here so a non-serializable context is that function's error, not a broken response
        return json.loads(json.dumps(value, default=PantherEvent.json_encoder, allow_nan=False))
    return value


def _evaluate(module, event, rule_id, time_secs):
    vigil_state.begin(rule_id, time_secs)
    try:
        matched = module.rule(event)
        if not isinstance(matched, bool):
            raise FunctionReturnTypeError(f"rule() must return a boolean, got {type(matched).__name__}")
    except Exception as exc:  # noqa: BLE001  (any rule exception is a rule error)
        vigil_state.rollback()  # a failing rule() leaves no state behind
        vigil_state.end()
        return {"rule": {"error": _error(exc)}}
    result = {"rule": matched}
    if matched:
        for name in AUX_FUNCTIONS:
            fn = getattr(module, name, None)
            if not callable(fn):
                continue
            try:
                result[name] = {"value": _check(name, fn(event))}
            except Exception as exc:  # noqa: BLE001
                result[name] = {"error": _error(exc)}
    ops = vigil_state.end()
    if ops:
        result["ops"] = ops
    return result


def _not_loaded(rule_id):
    return {"rule": {"error": {"type": "RuleNotLoaded", "message": f"rule {rule_id} is not loaded in this worker"}}}


def _event(raw, req, udm_values=None):
    """The event with its data model: the request's explicit one (null: none), else the registered one."""
    if "dataModel" in req:
        model = vigil_repository.from_wire(req["dataModel"])
        if model is not None and udm_values is not None:
            model = model.with_values(udm_values)
        return PantherEvent(raw, model)
    return PantherEvent(raw, vigil_repository.for_event(raw, udm_values))


def _udm_values(raw):
    model = vigil_repository.for_event(raw)
    if model is None:
        return None
    event = PantherEvent(raw, model)
    out = {}
    for name in model.mappings:
        try:
            value = event.udm(name)
            out[name] = {"value": json.loads(json.dumps(value, default=PantherEvent.json_encoder))}
        except Exception as exc:  # noqa: BLE001  (reported to the TypeScript rule calling udm())
            out[name] = {"error": str(exc) or type(exc).__name__}
    return out


def _handle(req):
    op = req.get("op")
    if op == "configure":
        vigil_repository.set_globals(req.get("globals") or {})
        errors = vigil_repository.set_data_models(req.get("dataModels") or [])
        return {"ok": True, "errors": errors}
    if op == "udm":
        return {"ok": True, "results": [_udm_values(raw) for raw in req["events"]]}
    if op == "load":
        try:
            functions = _load(req["ruleId"], req["path"], bool(req.get("optionalRule")))
        except Exception as exc:  # noqa: BLE001  (import/setup errors are rule errors)
            _rules.pop(req["ruleId"], None)
            return {"ok": False, "error": _error(exc)}
        return {"ok": True, "functions": functions}
    if op == "run":
        module = _rules.get(req["ruleId"])
        if module is None:
            return {"ok": True, "results": _not_loaded(req["ruleId"])}
        event = _event(req["event"], req, req.get("udmValues"))
        vigil_state.begin_batch(req.get("state"))
        rule_id, time_secs = req["ruleId"], req.get("timeSecs") or 0
        mocks = {
            m["objectName"]: mock.MagicMock(return_value=m["returnValue"])
            for m in req.get("mocks") or []
            if "objectName" in m and "returnValue" in m
        }
        if not mocks:
            return {"ok": True, "results": _evaluate(module, event, rule_id, time_secs)}
        try:
            patcher = mock.patch.multiple(module, **mocks)
            patcher.start()
        except Exception as exc:  # noqa: BLE001  (e.g. mocking a name the module lacks)
            return {"ok": True, "results": {"rule": {"error": _error(exc)}}}
        try:
            return {"ok": True, "results": _evaluate(module, event, rule_id, time_secs)}
        finally:
            patcher.stop()
    if op == "run_batch":
        rule_ids = req["ruleIds"]
        modules = [_rules.get(rid) for rid in rule_ids]
        events = req["events"]
        times = req.get("timesSecs") or [0] * len(events)
        udm_values = req.get("udmValues") or [None] * len(events)
        filtered = req.get("filtered") or [None] * len(events)
        vigil_state.begin_batch(req.get("state"))
        out = []
        for raw, time_secs, values, skip in zip(events, times, udm_values, filtered):
            event = _event(raw, req, values)
            skip = set(skip or ())
            out.append([
                {"rule": False} if rid in skip
                else _evaluate(m, event, rid, time_secs) if m is not None
                else _not_loaded(rid)
                for m, rid in zip(modules, rule_ids)
            ])
        return {"ok": True, "results": out}
    if op == "ping":
        return {"ok": True}
    return {"ok": False, "error": {"type": "BadRequest", "message": f"unknown op {op!r}"}}


def main():
    _OUT.write(json.dumps({"ready": True, "python": sys.version.split()[0]}) + "\n")
    _OUT.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        req_id = None
        try:
            req = json.loads(line)
            req_id = req.get("id")
            resp = _handle(req)
        except Exception as exc:  # noqa: BLE001  (a malformed request must not kill the worker)
            resp = {"ok": False, "error": _error(exc)}
        resp["id"] = req_id
        try:
            text = json.dumps(resp, default=PantherEvent.json_encoder)
        except (TypeError, ValueError) as exc:
            text = json.dumps({"id": req_id, "ok": False, "error": _error(exc)})
        _OUT.write(text + "\n")
        _OUT.flush()


if __name__ == "__main__":
    main()
