"""Vigil's rule state inside a Python worker: the same model and semantics as the TypeScript `ctx.state`
(src/detections/engine/state.ts), which panther_detection_helpers.caching is built on.

An entry is (value, counter, members, expires_at): a string or None, a number, a sorted tuple of strings, and
the Unix second it expires at (None: never). State is per rule (and per source: Node sends one source's
state with each batch). Reads see the state Node sent plus the earlier writes of the batch; an entry whose
expiry is at or before the event's time reads as absent. Each write also becomes an op (Node's RuleStateOp
without the rule id), returned with the event's results; Node replays them into the batch state and the
store applies them only for the events the page inserted. Writes made in rule() are undone when rule()
raises or returns a non-bool, so a failing rule leaves no trace.
"""

EMPTY = (None, 0, (), None)
_MISSING = object()


class CachingUnavailableError(RuntimeError):
    pass


class _State:
    __slots__ = ("views", "rule_id", "view", "time", "ops", "undo", "active")

    def __init__(self):
        self.views = {}  # rule id -> {key: entry}
        self.rule_id = None
        self.view = None
        self.time = 0
        self.ops = None
        self.undo = None
        self.active = False


STATE = _State()


def begin_batch(payload):
    """Loads the state Node sent: {ruleId: [[key, value, counter, members, expiresAtSecs], ...]}."""
    views = {}
    if payload:
        for rule_id, entries in payload.items():
            views[rule_id] = {e[0]: (e[1], e[2], tuple(e[3]), e[4]) for e in entries}
    STATE.views = views


def begin(rule_id, time_secs):
    """Positions the state on one (rule, event) invocation."""
    s = STATE
    s.rule_id = rule_id
    s.view = None
    s.time = time_secs
    s.ops = None
    s.undo = None
    s.active = True


def rollback():
    """Discards the writes of the current invocation (its rule() raised)."""
    s = STATE
    if s.undo is not None:
        view = s.views[s.rule_id]
        for key, prev in reversed(s.undo):
            if prev is _MISSING:
                view.pop(key, None)
            else:
                view[key] = prev
    s.ops = None
    s.undo = None


def end():
    """Ends the invocation; returns its ops (or None)."""
    s = STATE
    s.active = False
    ops = s.ops
    s.ops = None
    s.undo = None
    return ops


def _view():
    s = STATE
    if not s.active:
        raise CachingUnavailableError(
            "panther_detection_helpers.caching is only available while a rule runs (not at import time)"
        )
    view = s.view
    if view is None:
        view = s.views.get(s.rule_id)
        if view is None:
            view = s.views[s.rule_id] = {}
        s.view = view
    return view


def now():
    """The event's time (Unix seconds): Vigil's "now" for expiry, so replays agree."""
    _view()
    return STATE.time


def read(key):
    """The live entry for key, or None."""
    e = _view().get(key)
    if e is None:
        return None
    exp = e[3]
    return None if exp is not None and exp <= STATE.time else e


def _set(key, entry, op):
    s = STATE
    view = _view()
    if s.undo is None:
        s.undo = []
    if s.ops is None:
        s.ops = []
    s.undo.append((key, view.get(key, _MISSING)))
    if entry is None:
        view.pop(key, None)
    else:
        view[key] = entry
    s.ops.append(op)


def _base(key):
    return read(key) or EMPTY


def put(key, value, expires_at=None):
    b = _base(key)
    _set(key, (value, b[1], b[2], b[3] if expires_at is None else expires_at), {
        "kind": "put", "key": key, "value": value, "expiresAtSecs": expires_at,
    })


def increment(key, by, expires_at=None):
    b = _base(key)
    counter = b[1] + by
    _set(key, (b[0], counter, b[2], b[3] if expires_at is None else expires_at), {
        "kind": "increment", "key": key, "by": by, "expiresAtSecs": expires_at,
    })
    return counter


def add_to_set(key, member, expires_at=None):
    b = _base(key)
    members = b[2] if member in b[2] else tuple(sorted((*b[2], member)))
    _set(key, (b[0], b[1], members, b[3] if expires_at is None else expires_at), {
        "kind": "add_to_set", "key": key, "member": member, "expiresAtSecs": expires_at,
    })


def delete(key):
    _set(key, None, {"kind": "delete", "key": key})


def replace(key, value, counter, members, expires_at):
    """Makes the entry exactly (value, counter, members, expires_at) with the ops there are: delete, then
    rebuild. An entry with nothing in it is dropped unless it carries an expiry (kept as counter 0)."""
    if _view().get(key) is not None:
        delete(key)
    if value is None and counter == 0 and not members and expires_at is None:
        return
    if value is not None:
        put(key, value, expires_at)
    if counter != 0 or (value is None and not members):
        increment(key, counter, expires_at)
    for m in sorted(members):
        add_to_set(key, m, expires_at)
