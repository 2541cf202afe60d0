"""The one set of entry filters: the same options, with the same meaning, on every command
that selects entries (``log``, ``log export``, ``cancel``, ``restore``, ``evaluate``,
``complete``, ``stats``...).

A command takes them by decorating itself with :func:`entry_filters` and declaring a
parameter ``flt``: it receives one validated :class:`~ilog.domain.records.LogFilter`
(dates parsed, codes upper-cased, values checked by the record model, never here).
"""


import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from ..errors import BadValue

Text = str | None
Flag = bool
Many = list[str] | None


def _option(*names: str, help: str) -> Any:
    return typer.Option(*names, help=help, show_default=False)


#: option parameter -> (annotation, default, LogFilter field it sets)
FILTERS: dict[str, tuple[Any, Any, str]] = {
    "contact": (Annotated[Text, _option("--contact", "-c", help="Entries of this contact.")], None, "contact_no"),
    "rollup": (Annotated[Flag, _option("--rollup", help="For a company, include its persons' entries.")], False,
               "rollup"),
    "company": (Annotated[Text, _option("--company", help="Entries logged under this company.")], None, "company_no"),
    "template": (Annotated[Many, _option("--template", "-t", help="Entries of this template (repeat for any of several).")],
                 None, "template_code"),
    "group": (Annotated[Text, _option("--group", "-g", help="Entries of this interaction group.")], None,
              "group_code"),
    "kind": (Annotated[Many, _option("--kind", "-k", help="Entries of this kind (repeat: --kind task --kind phone-call).")],
             None, "kind"),
    "owner": (Annotated[Many, _option("--owner", help="Activities owned by this user (repeatable).")], None, "owner"),
    "mine": (Annotated[Flag, _option("--mine", help="Activities I own (the user ilog runs as: --user, ILOG_USER).")],
             False, "owner"),
    "team": (Annotated[Text, _option("--team", help="Activities the members of this team own.")], None, "team"),
    "salesperson": (Annotated[Text, _option("--salesperson", help="Entries of this salesperson.")], None,
                    "salesperson_code"),
    "campaign": (Annotated[Text, _option("--campaign", help="Entries of this campaign.")], None, "campaign_no"),
    "opportunity": (Annotated[Text, _option("--opportunity", help="Entries regarding this opportunity.")], None,
                    "opportunity_no"),
    "document_type": (Annotated[Text, _option("--document-type", help="Entries of this document type.")], None,
                      "document_type"),
    "document_no": (Annotated[Text, _option("--document-no", help="Entries of this document number.")], None,
                    "document_no"),
    "segment": (Annotated[Text, _option("--segment", help="Entries logged from this segment.")], None, "segment_no"),
    "user_id": (Annotated[Text, _option("--user", help="Entries logged by this user id.")], None, "user_id"),
    "date_from": (Annotated[Text, _option("--from", help="Entries on or after this date.")], None, "date_from"),
    "date_to": (Annotated[Text, _option("--to", help="Entries on or before this date.")], None, "date_to"),
    "search": (Annotated[Text, _option("--search", "-s", help="Text in the subject (any case).")], None, "text"),
    "evaluation": (Annotated[Text, _option("--evaluation", help="Entries with this evaluation.")], None,
                   "evaluation"),
    "open_": (Annotated[Flag, _option("--open", help="Only open activities (soonest due first).")], False, "state"),
    "done": (Annotated[Flag, _option("--done", help="Only closed activities: completed, with when and by whom.")],
             False, "completed"),
    "state": (Annotated[Text, _option("--state", help="open or done.")], None, "state"),
    "overdue": (Annotated[Flag, _option("--overdue", help="Only open activities past their due date.")], False,
                "overdue"),
    "due_before": (Annotated[Text, _option("--due-before", help="Only activities due before this date.")], None,
                   "due_before"),
    "cancelled": (Annotated[Flag, _option("--cancelled", help="Only cancelled entries.")], False, "cancelled"),
    "include_cancelled": (Annotated[Flag, _option("--include-cancelled", help="Cancelled entries too.")], False,
                          "cancelled"),
    "postponed": (Annotated[Flag, _option("--postponed", help="Only postponed entries (left out otherwise).")],
                  False, "postponed"),
}


def build_filter(options: dict[str, Any], user: str | None = None, **fixed: Any) -> Any:
    """A LogFilter from the options a command was given (unset ones ignored), over ``fixed``;
    ``user`` is who "mine" means."""
    from ..domain import values
    from ..domain.records import LogFilter

    given: dict[str, Any] = dict(fixed)
    if options.get("mine"):
        if options.get("owner") and set(options["owner"]) != {user}:
            raise BadValue(f"--mine means owner {user!r}: do not combine it with --owner")
        options = {**options, "owner": [user], "mine": False}
    if options.get("open_") and options.get("done"):
        raise BadValue("--open and --done contradict each other: give one")
    for flag, state in (("open_", "open"), ("done", "done")):
        if options.get(flag) and options.get("state") not in (None, state):
            raise BadValue(f"--{flag.rstrip('_')} and --state {options['state']} contradict each other: give one")
    for name, value in options.items():
        if value is None or value is False or value == []:
            continue
        target = FILTERS[name][2]
        if name == "open_":
            value = "open"
        elif name == "cancelled":
            value = "only"
        elif name == "include_cancelled":
            if options.get("cancelled"):
                raise BadValue("--cancelled and --include-cancelled contradict each other: give one")
            value = "include"
        elif name == "postponed":
            value = "only"
        given[target] = value
    return values.validated(LogFilter, given)


def entry_filters(*, exclude: tuple[str, ...] = (), **fixed: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the shared filter options; it receives them as one ``flt`` argument.

    ``exclude`` leaves some options out (those a command has no use for); ``fixed`` sets
    filter fields the command always uses (``postponed="include"`` for an export).
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = inspect.signature(command, eval_str=True)
        if "flt" not in own.parameters:
            raise TypeError(f"{command.__name__} must take a parameter named flt")
        names = [n for n in FILTERS if n not in exclude]
        params = [p for n, p in own.parameters.items() if n != "flt"]
        params += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=FILTERS[n][1],
                                     annotation=FILTERS[n][0]) for n in names]

        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            options = {n: kwargs.pop(n) for n in names if n in kwargs}
            user = None
            if options.get("mine"):
                from .context import state

                ctx = kwargs.get("ctx") or next(a for a in args if hasattr(a, "find_root"))
                user = state(ctx).settings.user
            return command(*args, flt=build_filter(options, user, **fixed), **kwargs)

        run.__signature__ = own.replace(parameters=sorted(  # type: ignore[attr-defined]
            params, key=lambda p: p.kind == inspect.Parameter.KEYWORD_ONLY))
        run.__annotations__ = {p.name: p.annotation for p in params}
        del run.__wrapped__  # Typer must read the signature above, not the command's own
        return run

    return decorate
