"""Engagement: each member's stage in Salmon's five, from the mail the list received.

rules.py (the ladder and its thresholds) and facts.py (counting posts) are pure; store.py reads
the rows and keeps the history, jobs.py records changes daily, cli.py is `listserv engagement`.
"""
