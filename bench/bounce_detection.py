"""Bounce detection (listserv/bounces/detect.py) measured on real bounces: sisimai's set of emails.

    python3 -m bench.bounce_detection /work/shared/corpora/sisimai_set_of_emails

Every file in maildir/bsd and maildir/not is classified. The figures, against the reference files:
- recipients found: the bounced recipients of the files where flufl.bounce 6 and sisimai agree
  (reference/consensus-*.json), and of every file by sisimai alone (reference/sisimai-*.jsonl,
  leaving out its feedback, vacation and delivered rows, which are not bounces); and the
  recipients we name that sisimai does not (wrong guesses);
- permanent vs temporary: our class against the class of sisimai's Status (5.x.x vs 4.x.x);
- hard vs soft: our hard (the address itself is bad) against sisimai's hard reasons
  (userunknown, hostunknown, hasmoved, notaccept), every other failure being soft;
- never a bounce: RFC 3834 auto-replies and the files of maildir/not counted as bounces (must be 0);
  ARF reports read as complaints.
"""

from __future__ import annotations

import argparse
import email
import json
from collections import Counter
from dataclasses import dataclass
from email import policy
from pathlib import Path

from listserv.bounces.detect import BounceReport, ReportKind, classify

HARD_REASONS = ("userunknown", "hostunknown", "hasmoved", "notaccept")
NOT_BOUNCES = ("feedback", "vacation", "delivered", None)


@dataclass(frozen=True)
class DetectionFigures:
    files: int
    kinds: dict[str, int]
    consensus_recipients: int
    consensus_found: int
    sisimai_recipients: int
    sisimai_found: int
    extra_recipients: int  # named by us, not by sisimai, over the bounce files
    class_compared: int
    class_agree: int
    hard_compared: int
    hard_agree: int
    auto_replies: int
    auto_replies_as_bounce: int
    not_bounces: int
    not_bounces_as_bounce: int
    arf_files: int
    arf_complaints: int


def read(path: Path) -> BounceReport:
    return classify(email.message_from_bytes(path.read_bytes(), policy=policy.compat32))


def measure(root: Path) -> DetectionFigures:
    bsd = {path.name: read(path) for path in sorted((root / "maildir" / "bsd").glob("*.eml"))}
    others = [read(path) for path in sorted((root / "maildir" / "not").iterdir()) if path.is_file()]
    consensus: dict[str, list[str]] = json.loads(next((root / "reference").glob("consensus-*.json")).read_text())
    lines = next((root / "reference").glob("sisimai-*.jsonl")).read_text().splitlines()
    rows = [row for row in map(json.loads, lines) if row.get("recipient") and row.get("reason") not in NOT_BOUNCES]
    found = [(row, bsd[row["file"]]) for row in rows if row["recipient"].lower() in bsd[row["file"]].failed]
    named: dict[str, set[str]] = {}
    for row in map(json.loads, lines):
        named.setdefault(row["file"], set()).add(str(row.get("recipient") or "").lower())
    classed = [(row, report) for row, report in found if row["deliverystatus"][:1] in ("4", "5")]
    auto = [report for name, report in bsd.items() if name.startswith("rfc3834-")]
    arf = [report for name, report in bsd.items() if name.startswith("arf-")]
    return DetectionFigures(
        files=len(bsd) + len(others),
        kinds=dict(Counter(report.kind.value for report in bsd.values())),
        consensus_recipients=sum(len(v) for v in consensus.values()),
        consensus_found=sum(len(set(v) & bsd[name].failed) for name, v in consensus.items()),
        sisimai_recipients=len(rows),
        sisimai_found=len(found),
        extra_recipients=sum(len(report.failed - named.get(name, set())) for name, report in bsd.items()),
        class_compared=len(classed),
        class_agree=sum((r["recipient"].lower() in rep.permanent) == (r["deliverystatus"][0] == "5")
                        for r, rep in classed),
        hard_compared=len(found),
        hard_agree=sum((r["recipient"].lower() in rep.hard) == (r["reason"] in HARD_REASONS) for r, rep in found),
        auto_replies=len(auto),
        auto_replies_as_bounce=sum(report.kind is ReportKind.BOUNCE for report in auto),
        not_bounces=len(others),
        not_bounces_as_bounce=sum(report.kind is ReportKind.BOUNCE for report in others),
        arf_files=len(arf),
        arf_complaints=sum(report.kind is ReportKind.COMPLAINT for report in arf),
    )  # fmt: skip


def percent(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.1f} %)" if whole else f"{part}/0"


def report_lines(f: DetectionFigures) -> list[str]:
    return [
        f"files: {f.files}; read as: " + ", ".join(f"{kind} {count}" for kind, count in sorted(f.kinds.items())),
        f"recipients found, consensus (flufl.bounce + sisimai agree): {percent(f.consensus_found, f.consensus_recipients)}",
        f"recipients found, sisimai alone: {percent(f.sisimai_found, f.sisimai_recipients)}",
        f"recipients named that sisimai does not name: {f.extra_recipients}",
        f"permanent vs temporary, against sisimai's status class: {percent(f.class_agree, f.class_compared)}",
        f"hard vs soft, against sisimai's reasons: {percent(f.hard_agree, f.hard_compared)}",
        f"RFC 3834 auto-replies counted as bounces: {f.auto_replies_as_bounce} of {f.auto_replies}",
        f"maildir/not counted as bounces: {f.not_bounces_as_bounce} of {f.not_bounces}",
        f"ARF reports read as complaints: {percent(f.arf_complaints, f.arf_files)}",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("root", type=Path, help="the sisimai_set_of_emails folder")
    print("\n".join(report_lines(measure(parser.parse_args().root))))


if __name__ == "__main__":
    main()
