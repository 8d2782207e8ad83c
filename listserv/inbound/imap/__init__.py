"""IMAP intake: a list's mail taken from a hosted mailbox through the same commit as LMTP/SMTP.

rules.py (pure decisions), config.py (the per-list settings), client.py (imapclient), state.py and
tables.py (mailbox state), intake.py (one pass over a mailbox), runner.py (`serve`: IDLE, backoff),
cli.py (`listserv imap poll`, `listserv imap test`); docs/imap.md."""
