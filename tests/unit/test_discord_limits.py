"""Messages built by liveops.discord.limits never break a Discord limit, and lose nothing silently."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveops.discord import limits
from liveops.discord.limits import (
    BLANK,
    ELLIPSIS,
    Button,
    fit_message,
    message_problems,
    message_with_buttons,
    paginate_embeds,
    truncate,
)

# any Unicode except surrogates, with plenty of whitespace, emoji and combining marks
TEXT_ALPHABET = st.characters(exclude_categories=["Cs"])
EMOJI = st.sampled_from(["🔥", "👍🏽", "👨‍👩‍👧", "é", "e\u0301", " ", "\n", "\t", "…", BLANK])


def _stretch(seed: str, size: int) -> str:
    return (seed * (size // max(1, len(seed)) + 1))[:size] if seed else ""


def texts(max_size: int) -> st.SearchStrategy[str]:
    """Short arbitrary text, or long text stretched from a random unicode / emoji seed (cheap to
    generate, so reports get large); sizes lean toward the limits."""
    sizes = st.one_of(st.integers(0, max_size), st.sampled_from([0, 1, 255, 256, 257, 1023, 1024, 1025]))
    return st.one_of(
        st.text(TEXT_ALPHABET, max_size=min(max_size, 40)),
        st.builds(_stretch, st.text(TEXT_ALPHABET, min_size=1, max_size=6), sizes),
        st.builds(_stretch, st.lists(EMOJI, min_size=1, max_size=6).map("".join), sizes),
    ).map(lambda text: text[:max_size])


FIELD = st.tuples(texts(400), texts(1500))
OPTIONAL = st.none() | texts(5000)
FIELDS = st.integers(0, 120).flatmap(lambda n: st.lists(FIELD, min_size=n, max_size=n))


def check_limits(payload: dict[str, Any]) -> None:
    """Every limit, spelled out (independently of message_problems, which is checked too)."""
    assert message_problems(payload) == []
    assert len(payload.get("content") or "") <= 2000
    embeds = payload.get("embeds") or []
    assert len(embeds) <= 10
    total = 0
    for embed in embeds:
        assert embed, "an embed must not be empty"
        title = embed.get("title", "")
        description = embed.get("description", "")
        footer = embed.get("footer", {}).get("text", "")
        author = embed.get("author", {}).get("name", "")
        assert len(title) <= 256 and len(description) <= 4096
        assert len(footer) <= 2048 and len(author) <= 256
        fields = embed.get("fields", [])
        assert len(fields) <= 25
        total += len(title) + len(description) + len(footer) + len(author)
        for field in fields:
            assert 1 <= len(field["name"]) <= 256 and field["name"].strip()
            assert 1 <= len(field["value"]) <= 1024 and field["value"].strip()
            total += len(field["name"]) + len(field["value"])
    assert total <= 6000
    rows = payload.get("components") or []
    assert len(rows) <= 5
    for row in rows:
        assert row["type"] == 1 and len(row["components"]) <= 5
        for item in row["components"]:
            assert 1 <= len(item["custom_id"]) <= 100
            assert len(item["label"]) <= 80


def cut_of(original: str, shown: str) -> None:
    """`shown` is `original`, or a cut of it that ends with the marker."""
    if shown != original:
        assert shown.endswith(ELLIPSIS)
        assert original.startswith(shown[: -len(ELLIPSIS)])
        assert len(shown) <= len(original)


def kept_or_marked(original: str, shown: str) -> None:
    """As `cut_of`, for texts that must not be blank (a blank one shows as a zero-width space)."""
    if not original.strip():
        assert shown == BLANK
    else:
        cut_of(original, shown)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    title=texts(600),
    fields=FIELDS,
    description=OPTIONAL,
    footer=OPTIONAL,
    author=st.none() | texts(600),
    max_embeds=st.integers(1, 12),
    max_fields=st.integers(1, 30),
)
def test_every_page_fits_every_limit_and_keeps_every_field(
    title: str,
    fields: list[tuple[str, str]],
    description: str | None,
    footer: str | None,
    author: str | None,
    max_embeds: int,
    max_fields: int,
) -> None:
    pages = paginate_embeds(
        title,
        fields,
        description=description,
        footer=footer,
        author=author,
        color=0xE67E22,
        max_embeds_per_page=max_embeds,
        max_fields_per_embed=max_fields,
    )
    assert pages
    shown: list[dict[str, Any]] = []
    for number, page in enumerate(pages, start=1):
        check_limits({"embeds": page})
        assert len(page) <= min(max_embeds, 10)
        assert all(len(embed.get("fields", [])) <= min(max_fields, 25) for embed in page)
        # fitting a page changes nothing: it already fits
        assert fit_message({"embeds": page})["embeds"] == page
        if title.strip():
            cut_of(title, page[0]["title"])
            assert len(title) > 256 or page[0]["title"] == title
        if len(pages) > 1:
            assert page[-1]["footer"]["text"].endswith(f"Page {number}/{len(pages)}")
        if footer and footer.strip():
            text = page[-1]["footer"]["text"]
            if len(pages) > 1:
                text = text[: -len(f" · Page {number}/{len(pages)}")]
            cut_of(footer, text)
            assert len(footer) > 2000 or text == footer
        if author and author.strip():
            cut_of(author, page[0]["author"]["name"])
        for embed in page:
            shown.extend(embed.get("fields", []))
    # every field, in order; only cut with the marker
    assert len(shown) == len(fields)
    for (name, value), field in zip(fields, shown, strict=True):
        kept_or_marked(name, field["name"])
        kept_or_marked(value, field["value"])
    if description and description.strip():
        cut_of(description, pages[0][0]["description"])
        assert len(description) > 3440 or pages[0][0]["description"] == description
    # nothing is cut when it fits
    for (name, value), field in zip(fields, shown, strict=True):
        if name.strip() and len(name) <= 256:
            assert field["name"] == name
        if value.strip() and len(value) <= 1024:
            assert field["value"] == value


EMBED = st.fixed_dictionaries(
    {},
    optional={
        "title": texts(700),
        "description": texts(6000),
        "fields": st.integers(0, 28).flatmap(
            lambda n: st.lists(
                st.fixed_dictionaries({"name": texts(400), "value": texts(1500)}), min_size=n, max_size=n
            )
        ),
        "footer": st.fixed_dictionaries({"text": texts(3000)}),
        "author": st.fixed_dictionaries({"name": texts(600)}),
        "color": st.integers(0, 0xFFFFFF),
    },
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(content=st.none() | texts(3000), embeds=st.lists(EMBED, min_size=1, max_size=12))
def test_fit_message_makes_any_message_fit(content: str | None, embeds: list[dict[str, Any]]) -> None:
    embeds = [embed or {"description": "x"} for embed in embeds]
    payload: dict[str, Any] = {"embeds": embeds, "allowed_mentions": {"parse": []}}
    if content is not None:
        payload["content"] = content
    fitted = fit_message(payload)
    check_limits(fitted)
    assert fitted["allowed_mentions"] == {"parse": []}
    assert len(fitted["embeds"]) == min(len(embeds), 10)
    if len(embeds) > 10:
        assert fitted["content"].endswith(f"({len(embeds) - 10} more embeds not shown)")
    elif content is not None:
        cut_of(content, fitted["content"])
    for original, out in zip(embeds, fitted["embeds"], strict=False):
        for key in ("title", "description"):
            if key in original and original[key].strip():
                cut_of(original[key], out[key])
        fields = original.get("fields", [])
        out_fields = out.get("fields", [])
        assert len(out_fields) == min(len(fields), 25)
        if len(fields) > 25:
            assert out_fields[-1]["value"] == f"{len(fields) - 24} more fields not shown"
            out_fields = out_fields[:-1]
        for field, shown in zip(fields, out_fields, strict=False):
            kept_or_marked(field["name"], shown["name"])
            kept_or_marked(field["value"], shown["value"])
    assert payload["embeds"] is embeds  # the input is left alone


def test_fit_message_leaves_a_fitting_message_unchanged() -> None:
    payload = {
        "content": "Incident opened",
        "embeds": [
            {"title": "p95 latency", "fields": [{"name": "value", "value": "812 ms", "inline": True}]}
        ],
        "components": [
            {"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "ack:1", "label": "Ack"}]}
        ],
        "allowed_mentions": {"parse": []},
    }
    assert fit_message(payload) == payload


def test_fit_message_cuts_the_longest_texts_first() -> None:
    embeds = [
        {"title": "short", "description": "d" * 4096, "fields": [{"name": "n", "value": "v" * 1024}] * 5}
    ]
    fitted = fit_message({"embeds": embeds})
    check_limits(fitted)
    assert fitted["embeds"][0]["title"] == "short"
    assert fitted["embeds"][0]["description"].endswith(ELLIPSIS)


def test_truncate_keeps_a_suffix_and_marks_the_cut() -> None:
    assert truncate("abc", 3) == "abc"
    assert truncate("abcd", 3) == "ab…"
    assert truncate("abcdef", 6, " (2)") == "a… (2)"
    assert truncate("a", 5, " (2)") == "a (2)"
    assert len(truncate("🔥" * 300, 256)) == 256


def test_message_with_buttons_lays_out_rows_and_sets_allowed_mentions() -> None:
    buttons: list[Button] = [(f"ack:{'i' * 120}"[:100], "Acknowledge " + "x" * 100, "primary")]
    buttons += [(f"b{i}", f"B{i}", i % 4 + 1) for i in range(11)]
    payload = message_with_buttons("alert", [{"title": "t"}], buttons)
    check_limits(payload)
    assert payload["allowed_mentions"] == {"parse": []}
    assert [len(row["components"]) for row in payload["components"]] == [5, 5, 2]
    first = payload["components"][0]["components"][0]
    assert first["style"] == 1 and len(first["label"]) == 80 and first["label"].endswith(ELLIPSIS)
    disabled = message_with_buttons(None, [], [("resolve:1", "Resolve", "danger", True)])
    assert "content" not in disabled
    assert disabled["components"][0]["components"][0] == {
        "type": 2,
        "style": 4,
        "custom_id": "resolve:1",
        "label": "Resolve",
        "disabled": True,
    }


@pytest.mark.parametrize(
    ("buttons", "problem"),
    [
        ([(f"b{i}", "B", 1) for i in range(26)], "at most 25"),
        ([("x" * 101, "B", 1)], "custom_id"),
        ([("", "B", 1)], "custom_id"),
        ([("a", "A", 1), ("a", "B", 2)], "its own custom_id"),
        ([("a", "A", "link")], "style"),
        ([("a", " ", 1)], "label"),
    ],
)
def test_message_with_buttons_refuses_what_cannot_be_cut(buttons: list[Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        message_with_buttons("x", [], buttons)


def test_fit_message_refuses_structural_component_problems() -> None:
    row = {
        "type": 1,
        "components": [{"type": 2, "style": 1, "custom_id": f"c{i}", "label": "L"} for i in range(6)],
    }
    with pytest.raises(ValueError, match="at most 5 buttons"):
        fit_message({"components": [row]})
    with pytest.raises(ValueError, match="at most 5 action rows"):
        fit_message({"components": [{"type": 1, "components": []}] * 6})


def test_message_problems_names_each_broken_limit() -> None:
    payload = {
        "content": "c" * 2001,
        "embeds": [{"title": "t" * 257, "fields": [{"name": " ", "value": "v" * 1025}]}] * 11,
        "components": [{"type": 1, "components": [{"type": 2, "custom_id": "x" * 101, "label": "l" * 81}]}],
    }
    problems = "\n".join(message_problems(payload))
    for expected in (
        "content: 2001",
        "embeds: 11 embeds",
        "title: 257",
        "fields[0].name: required",
        "fields[0].value: 1025",
        "characters in total",
        "custom_id",
        "label: 81",
    ):
        assert expected in problems


def test_a_report_with_nothing_in_it_is_still_a_valid_embed() -> None:
    pages = paginate_embeds("", [])
    assert pages == [[{"description": BLANK}]]
    check_limits({"embeds": pages[0]})
    assert limits.embed_chars(pages[0][0]) == 1


def test_a_large_report_is_split_by_the_6000_budget_then_by_field_and_embed_counts() -> None:
    fields = [(f"metric {i} " + "n" * 300, "v" * 2000) for i in range(40)]
    pages = paginate_embeds("Weekly report " + "t" * 300, fields, footer="liveops")
    for page in pages:
        check_limits({"embeds": page})
    # each field is cut to 256 + 1024 characters; title 256 and footer room leave 4 per page
    assert [sum(len(e.get("fields", [])) for e in page) for page in pages] == [4] * 10
    assert pages[0][0]["title"].endswith(ELLIPSIS) and len(pages[0][0]["title"]) == 256
    assert pages[-1][-1]["footer"] == {"text": "liveops · Page 10/10"}

    small = [(f"k{i}", f"v{i}") for i in range(260)]
    pages = paginate_embeds("t", small, max_fields_per_embed=10, max_embeds_per_page=3)
    assert [[len(e["fields"]) for e in page] for page in pages] == [[10, 10, 10]] * 8 + [[10, 10]]
    assert [f["name"] for page in pages for e in page for f in e["fields"]] == [n for n, _ in small]
    assert all("title" in page[0] and "title" not in page[1] for page in pages)
