#!/bin/sh
# A print hook for any ERP that can run a command after printing or sending a document:
#
#   print-hook.sh EVENT DOCUMENT-NO CUSTOMER [FILE]
#   print-hook.sh sales.invoice INV-1042 CT000001 /var/spool/erp/INV-1042.pdf
#
# CUSTOMER is an ilog contact number; set ILOG_HOOK_REF=1 when it is an ERP customer number
# that a plugin resolves (see examples/plugins/erp_customers.py). The entry is recorded
# through `ilog template setup` and the plugins; nothing is recorded for an event with no
# template (exit 0). The idempotency key is the ERP's print job id (ERP_PRINT_JOB): one key per
# print job, so a retried hook records nothing twice while a real reprint of the same file (a
# new job) is occurrence 2. Never key on the file's content: a reprint is the same file.
# Without a print job id the entry has no key of the ERP's (a retried hook would record twice).
# Prints the entry number; exit status 0 recorded (or nothing to record, or spooled while the
# database is away: see README "Running on many hosts"), 1 refused, 2 bad value.
set -eu

if [ $# -lt 3 ]; then
    echo "usage: $0 EVENT DOCUMENT-NO CUSTOMER [FILE]" >&2
    exit 2
fi
event=$1 document_no=$2 customer=$3 file=${4:-}

set -- "$event" --document-no "$document_no" --quiet
if [ "${ILOG_HOOK_REF:-0}" = 1 ]; then
    set -- "$@" --ref "$customer"
else
    set -- "$@" --contact "$customer"
fi
if [ -n "$file" ]; then
    set -- "$@" --attach "$file"
fi
if [ -n "${ERP_PRINT_JOB:-}" ]; then
    set -- "$@" --key "print-job-$ERP_PRINT_JOB"
fi

exec ilog event "$@"
