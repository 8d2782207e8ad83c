"""Harvesting a post's resources (pure): links, documents, DOIs, ISBNs and what was said about them."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage, Message

import pytest

from listserv.library.harvest import Kind, harvest, isbn13, normalise_url, sentence_around


def mail(text: str, html: str = "", attach: tuple[str, str, bytes] | None = None) -> Message:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "ann@example.com", "team@lists.example.test", "Resources"
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    if attach:
        name, kind, data = attach
        maintype, subtype = kind.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message_from_bytes(msg.as_bytes(), policy=policy.compat32)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("HTTPS://Example.ORG:443/Guide?utm_source=x&b=2&a=1#part", "https://example.org/Guide?b=2&a=1"),
        ("http://example.org:80", "http://example.org/"),
        ("http://example.org:8080/x?fbclid=1&gclid=2&mc_cid=3", "http://example.org:8080/x"),
        ("https://example.org/p?id=7&UTM_Medium=mail", "https://example.org/p?id=7"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("ftp://example.org/file", None),
        ("https://example.org:99999/", None),
    ],
)
def test_urls_are_normalised_and_tracking_dropped(given: str, expected: str | None) -> None:
    assert normalise_url(given) == expected


def test_http_and_https_stay_different_resources() -> None:
    assert normalise_url("http://example.org/a") != normalise_url("https://example.org/a")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("0-306-40615-2", "9780306406157"),
        ("978-0-306-40615-7", "9780306406157"),
        ("080442957X", "9780804429573"),
        ("978-0-306-40615-8", None),
        ("0-306-40615-3", None),
        ("123-0-306-40615-7", None),
    ],
)
def test_isbn_check_digits(given: str, expected: str | None) -> None:
    assert isbn13(given) == expected


def test_links_dois_and_isbns_with_the_sentence_around_them() -> None:
    text = (
        "Hi all,\n\nThe best guide I know is https://example.org/guide?utm_source=news (read part 2). "
        "Wenger's paper doi:10.1234/abc.5678 started it all.\n"
        "Also ISBN 978-0-306-40615-7, a classic. And ISBN 978-0-306-40615-8 is a typo.\n\n"
        "> https://quoted.example/old\n"
    )
    found = harvest(mail(text))
    assert [(f.kind, f.key) for f in found] == [
        (Kind.LINK, "https://example.org/guide"),
        (Kind.DOI, "doi:10.1234/abc.5678"),
        (Kind.ISBN, "isbn:9780306406157"),
    ]
    assert found[0].said == "The best guide I know is (read part 2)."
    assert found[1].url == "https://doi.org/10.1234/abc.5678"
    assert "started it all" in found[1].said
    assert found[2].said.startswith("Also")


def test_html_links_doi_links_and_duplicates() -> None:
    html = (
        '<p>See <a href="https://example.org/guide?fbclid=9">the guide</a> and '
        '<a href="https://doi.org/10.5555/XYZ">this study</a>.</p>'
        '<blockquote><a href="https://quoted.example/">old</a></blockquote>'
    )
    found = harvest(mail("See https://example.org/guide and the study.\n", html))
    assert [(f.kind, f.key) for f in found] == [(Kind.LINK, "https://example.org/guide"), (Kind.DOI, "doi:10.5555/xyz")]


def test_attached_documents_are_found_by_type_or_name_with_size() -> None:
    found = harvest(mail("Our template is attached: toolkit.pdf has the checklist.\n",
                         attach=("toolkit.pdf", "application/pdf", b"%PDF-1.4 fake")))  # fmt: skip
    [doc] = found
    assert doc.kind is Kind.DOCUMENT and doc.label == "toolkit.pdf" and doc.size == 13
    assert doc.key.startswith("sha256:") and doc.part > 0
    assert "checklist" in doc.said
    assert harvest(mail("a picture\n", attach=("me.png", "image/png", b"\x89PNG"))) == ()


def test_a_link_alone_on_its_line_takes_the_sentence_before() -> None:
    text = "This toolkit helped our team a lot.\n\nhttps://example.org/toolkit\n"
    assert sentence_around(text, "https://example.org/toolkit") == "This toolkit helped our team a lot."


def test_curation_commands_in_subject_and_body() -> None:
    from listserv.library.commands import Verb, parse_commands

    read = parse_commands("Re: add", "https://example.org/x A great guide\n\n> quoted +1 3\n+1 4\ntag 4 facilitation onboarding\n"
                          "describe 4\nThanks!\n")  # fmt: skip
    assert [(c.verb, c.ref, c.text) for c in read.commands] == [
        (Verb.ADD, "https://example.org/x", "A great guide"), (Verb.RECOMMEND, "4", ""),
        (Verb.TAG, "4", "facilitation onboarding")]  # fmt: skip
    assert read.unclear == ("describe 4: what should it say?",)
    assert [c.verb for c in parse_commands("Fwd: Re: outdated 7", "").commands] == [Verb.OUTDATED]
    assert parse_commands("Lovely thread", "I agree with everything.\n").commands == ()
