"""Map ERP customer numbers to ilog contacts: drop this file into the plugins directory.

    cp examples/plugins/erp_customers.py ~/.config/ilog/plugins/    # or $ILOG_PLUGINS_DIR
    ilog contact add "Rossi SpA" --type company --external-id 10000
    ilog event sales.invoice --document-no INV-1042 --ref 10000     # -> the Rossi SpA contact

The ERP knows its customers by its own numbers; ilog keeps them as each contact's external
id (``ilog contact add/edit --external-id``, or ``ilog contact import`` from the ERP's
export). ERPs print them in several ways (``C10000``, ``010000``, ``10000``), so the
reference is tried as given, then without a letter prefix and leading zeros.

A second hook fills in the contact's salesperson on document entries, which Business
Central records without one.
"""

from __future__ import annotations

import re

import ilog

__version__ = "1.0"


@ilog.hookimpl
def resolve_contact(ref, logbook):
    """The contact whose external id is the ERP customer number; None to let others try."""
    candidates = [ref.strip()]
    bare = re.sub(r"^[A-Za-z]+[-_]?", "", candidates[0]).lstrip("0")
    if bare and bare not in candidates:
        candidates.append(bare)
    for candidate in candidates:
        contact = logbook.contacts.by_external_id(candidate)
        if contact is not None:
            return contact.no
    return None


@ilog.hookimpl
def enrich_interaction(interaction, logbook):
    """Document entries carry no salesperson: take the contact's (or its company's)."""
    if interaction.source != "event" or interaction.salesperson_code or not interaction.contact_no:
        return
    contact = logbook.contacts.get(interaction.contact_no)
    if not contact.salesperson_code and contact.company_no:
        contact = logbook.contacts.get(contact.company_no)
    interaction.salesperson_code = contact.salesperson_code
