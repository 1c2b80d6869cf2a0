"""Email replies without quoted history and signatures; markdown signatures dropped."""

from __future__ import annotations

from opsdata.etl.chatwoot.cleaning import clean_text, email_body


def test_email_uses_the_trimmed_reply_and_drops_the_sign_off() -> None:
    email = {"text_content": {"full": "x", "reply": "x", "quoted": "Dear Sam,\n\nSamples please?\n\nBest,\nAlex"}}
    body = email_body("ignored full content", email)
    assert clean_text(body, email=True) == "Dear Sam,\n\nSamples please?"


def test_quoted_history_and_delimited_signatures_are_cut() -> None:
    text = (
        "Thanks, approved.\n--\nAlex | T-Shirt Co. | +1 555 0100\n\nOn Wed, Dec 4, 2024 Sam <s@x.test> wrote:\n> quote"
    )
    assert clean_text(text, email=True) == "Thanks, approved."
    agent = "Hope this helps\r\n\r\n--\r\n\r\n~ John Acme  \r\n![](http://x/rails/active_storage/a.png)Picoletter"
    assert clean_text(agent, email=False) == "Hope this helps"


def test_inline_email_images_become_a_marker() -> None:
    assert clean_text("see\n\n[image: image.png]\n\nok", email=True) == "see\n\n[image]\n\nok"


def test_without_trimmed_parts_the_content_is_used() -> None:
    assert email_body("content", {"text_content": {"quoted": "  "}}) == "content"
    assert email_body("content", None) == "content"
