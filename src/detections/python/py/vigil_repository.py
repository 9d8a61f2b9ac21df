"""A Panther repository's shared Python: global helpers and data models, registered by the TypeScript loader.

Global helpers (`AnalysisType: global`) are importable by their GlobalID. They are found by a meta-path finder placed
before the normal path search, so a repository's module wins over Vigil's built-in module of the same name (e.g. the
real panther_base_helpers over Vigil's cut-down copy), as in Panther, where the repository is all there is.

Data models (`AnalysisType: datamodel`) are chosen by the event's p_log_type. A mapping is a JSONPath (`path`) or the
name of a function in the data model's module (`method`). A model may also come with values computed by the
TypeScript engine (`values`): that is how Vigil's built-in OpenAI.Audit model, written in TypeScript, reaches Python.
"""

import importlib.abc
import importlib.util
import sys

_globals = {}  # module name -> file path
_models_by_log_type = {}  # log type -> DataModel
_modules = {}  # data-model module path -> module


class _GlobalsFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        file = _globals.get(fullname)
        if file is None:
            return None
        return importlib.util.spec_from_file_location(fullname, file)


_FINDER = _GlobalsFinder()


def set_globals(modules):
    """modules: {name: path}. Replaces the registered set; already-imported modules of these names are dropped, so
    the next import (by a rule or another helper) loads the repository's file."""
    _globals.clear()
    _globals.update(modules)
    for name in modules:
        sys.modules.pop(name, None)
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    sys.meta_path.insert(0, _FINDER)


class DataModel:
    """One data model: mappings {name: ("path", jsonpath) | ("method", function name)}, the module holding the
    methods (None when there are none), and values computed elsewhere for one event (None when not given)."""

    __slots__ = ("id", "mappings", "module", "values")

    def __init__(self, model_id, mappings, module=None, values=None):
        self.id = model_id
        self.mappings = mappings
        self.module = module
        self.values = values

    def with_values(self, values):
        return DataModel(self.id, self.mappings, self.module, values)


def _load_module(path):
    module = _modules.get(path)
    if module is None:
        spec = importlib.util.spec_from_file_location(f"vigil_data_model_{len(_modules) + 1}", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load a Python module from {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[path] = module
    return module


def _mappings(raw):
    out = {}
    for name, m in (raw or {}).items():
        if isinstance(m, str):  # the older wire form: name -> JSONPath
            out[name] = ("path", m)
        elif "method" in m:
            out[name] = ("method", m["method"])
        else:
            out[name] = ("path", m["path"])
    return out


def from_wire(raw):
    """A data model as sent by TypeScript: {id?, mappings, module?, values?}; the module is imported here."""
    if raw is None:
        return None
    module = _load_module(raw["module"]) if raw.get("module") else None
    return DataModel(raw.get("id", ""), _mappings(raw.get("mappings")), module, raw.get("values"))


def set_data_models(models):
    """models: [{id, logTypes, mappings, module?}]. Returns {id: error} for models whose module fails to import;
    those models are left out (their log types then have no data model)."""
    _models_by_log_type.clear()
    errors = {}
    for raw in models:
        try:
            model = from_wire(raw)
        except Exception as exc:  # noqa: BLE001  (a broken data model is reported, not fatal)
            errors[raw.get("id", "")] = f"{type(exc).__name__}: {exc}"
            continue
        for log_type in raw.get("logTypes") or []:
            _models_by_log_type.setdefault(log_type, model)
    return errors


def for_event(raw_event, values=None):
    """The registered data model for the event's p_log_type (with TypeScript-computed values when given)."""
    log_type = raw_event.get("p_log_type") if isinstance(raw_event, dict) else None
    model = _models_by_log_type.get(log_type) if isinstance(log_type, str) else None
    if model is not None and values is not None:
        return model.with_values(values)
    return model
