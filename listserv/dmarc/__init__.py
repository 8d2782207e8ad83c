"""DMARC mitigation (docs/dmarc.md): when an author's domain asks providers to refuse or junk mail
that others send in its name, the list's copies come From the list instead.

record.py (pure: DMARC records), discover.py (policy discovery over DNS and the Public Suffix
List), policy.py (pure: the list's choices and whether to act), rewrite.py (pure: munge From or
wrap the message), store.py (the per-list settings), mitigate.py (the one call the release makes).
"""
