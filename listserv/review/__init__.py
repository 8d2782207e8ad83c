"""The hold queue's I/O shell: holding posts, reply tokens, facilitators' replies, jobs, CLI.

The decisions themselves are pure and live in listserv.moderation.
"""
