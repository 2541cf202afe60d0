"""ilog's own hook implementations, registered first so that every plugin can override them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .hookspecs import hookimpl

if TYPE_CHECKING:
    from ..domain.records import DocumentEvent, Interaction
    from ..logbook import LogbookView


@hookimpl(trylast=True)
def interaction_from_document(event: "DocumentEvent", logbook: "LogbookView") -> "Interaction | None":
    """Build the entry from the template set up for the event; None when no template is mapped.

    The document's fields go in too, though the core stamps them on any draft: a draft given
    them is validated once, when made (the core's stamps then assign what is there already)."""
    template_code = logbook.templates.template_for_event(event.event)
    if template_code is None:
        return None
    given = {name: getattr(event, name) for name in event.ENTRY_FIELDS}
    return logbook.draft(event.contact_no, template_code, **given, **event.document_fields())
