"""`listserv serve --workers 2` as a real process tree: both children serve (one set of listeners),
a child killed with -9 is reported and started again, and SIGTERM to the parent stops them all."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from listserv.settings import Settings
from support.mail import lmtp_send, make_post
from support.postfix import free_port
from support.process import serve_env
from support.waiting import wait_until


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def status(env: dict[str, str]) -> list[dict[str, object]]:
    done = subprocess.run([sys.executable, "-m", "listserv", "status", "--json"], env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def live_nodes(env: dict[str, str]) -> set[int]:
    return {int(str(row["pid"])) for row in status(env) if row.get("state") == "live"}


def sent(env: dict[str, str]) -> object:
    return next((row["count"] for row in status(env) if row.get("queue") == "delivery-sent"), 0)


def test_workers_share_the_listeners_restart_a_dead_child_and_stop_together(settings: Settings, sink, make_list,
                                                                              tmp_path):  # fmt: skip
    address = make_list("team", members=["ann@example.com", "bob@example.com"])
    lmtp_port = free_port()
    env = serve_env(settings, lmtp_port, free_port()) | {"LISTSERV_HEARTBEAT_SECONDS": "1",
                                                         "LISTSERV_NODE_DEAD_SECONDS": "5"}  # fmt: skip
    env["LISTSERV_HTTP_LISTEN"] = f"127.0.0.1:{free_port()}"
    log = tmp_path / "serve.log"
    with open(log, "ab") as out:
        parent = subprocess.Popen([sys.executable, "-m", "listserv", "serve", "--workers", "2"], env=env,
                                  stdout=out, stderr=out)  # fmt: skip
    try:
        wait_until(lambda: len(children(parent.pid)) == 2, timeout=30, what="two workers did not start")
        first = set(children(parent.pid))
        wait_until(lambda: live_nodes(env) == first, timeout=90, what=f"not two live nodes:\n{log.read_text()}")
        for index in range(4):  # whichever child takes each connection, each post is answered and sent
            post = make_post("ann@example.com", to=address, msgid=f"<w{index}@example.com>")
            reply = lmtp_send(("127.0.0.1", lmtp_port), "ann@example.com", [address], post)
            assert reply[address].startswith("250"), reply
        sink.wait_for(4, timeout=60)
        wait_until(lambda: sent(env) == 4, timeout=30, what="the deliveries were not recorded")  # else one goes twice
        victim = sorted(first)[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: "died (killed by signal 9)" in log.read_text(), timeout=30, what="the death not reported")
        wait_until(lambda: len(set(children(parent.pid)) - first) == 1, timeout=30, what="no new worker")
        now = set(children(parent.pid))
        wait_until(lambda: live_nodes(env) == now, timeout=90, what="the new worker is not a live node")
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=60) == 0
        assert not [pid for pid in now if alive(pid)], "a worker outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    assert len(sink.deliveries()) == 4 and {rcpt for rcpt, _ in sink.deliveries()} == {"bob@example.com"}
    with socket.socket() as probe:  # the listeners are closed with the parent
        assert probe.connect_ex(("127.0.0.1", lmtp_port)) != 0
