"""Moderation: why a post is held, the hold queue, and facilitators acting on it by reply.

Pure: facts, rules, decide, approve (reading replies), edit, mail.
Shell: policy (loading what the rules need), hold, records, reply, act, jobs, cli, tables.
"""
