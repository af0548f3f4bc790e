"""Discord's message limits, and helpers that build messages which always respect them.

Lengths are counted in characters (Unicode code points), as Discord counts them. Over-long text
is cut and ends with "…" (the explicit truncation marker); nothing else is dropped silently.
Structural problems that cutting cannot fix without changing behaviour (too many buttons, an
over-long or repeated `custom_id`) raise `ValueError`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBEDS_TOTAL_MAX = 6000  # title + description + field names/values + footer text + author name
FIELDS_MAX = 25
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
ACTION_ROWS_MAX = 5
BUTTONS_PER_ROW_MAX = 5
CUSTOM_ID_MAX = 100
LABEL_MAX = 80

ELLIPSIS = "…"
BLANK = "\u200b"  # a field's name and value must not be empty: a zero-width space stands in

BUTTON_STYLES = {"primary": 1, "secondary": 2, "success": 3, "danger": 4}
ButtonStyle = int | str
Button = (
    tuple[str, str, ButtonStyle] | tuple[str, str, ButtonStyle, bool]
)  # (custom_id, label, style[, disabled])


def truncate(text: str, limit: int, suffix: str = "") -> str:
    """`text` within `limit` characters; when cut it ends with "…" (followed by `suffix`, kept whole)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) + len(suffix) <= limit:
        return text + suffix
    suffix = suffix[: max(0, limit - 1)]
    return text[: max(0, limit - 1 - len(suffix))] + ELLIPSIS + suffix


def _field_text(text: Any, limit: int) -> str:
    value = "" if text is None else str(text)
    if not value.strip():
        return BLANK
    return truncate(value, limit)


def embed_chars(embed: Mapping[str, Any]) -> int:
    """The characters this embed counts toward the 6000 shared by all embeds of a message."""
    total = 0
    for key in ("title", "description"):
        if isinstance(embed.get(key), str):
            total += len(embed[key])
    for field in embed.get("fields") or ():
        total += len(str(field.get("name", ""))) + len(str(field.get("value", "")))
    footer, author = embed.get("footer"), embed.get("author")
    if isinstance(footer, Mapping) and isinstance(footer.get("text"), str):
        total += len(footer["text"])
    if isinstance(author, Mapping) and isinstance(author.get("name"), str):
        total += len(author["name"])
    return total


def message_problems(payload: Mapping[str, Any]) -> list[str]:
    """Every Discord limit the message breaks (empty: it fits)."""
    problems: list[str] = []

    def over(path: str, value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            problems.append(f"{path}: {len(value)} characters, the limit is {limit}")

    over("content", payload.get("content"), CONTENT_MAX)
    embeds = payload.get("embeds") or []
    if len(embeds) > EMBEDS_MAX:
        problems.append(f"embeds: {len(embeds)} embeds, the limit is {EMBEDS_MAX}")
    for i, embed in enumerate(embeds):
        over(f"embeds[{i}].title", embed.get("title"), TITLE_MAX)
        over(f"embeds[{i}].description", embed.get("description"), DESCRIPTION_MAX)
        fields = embed.get("fields") or []
        if len(fields) > FIELDS_MAX:
            problems.append(f"embeds[{i}].fields: {len(fields)} fields, the limit is {FIELDS_MAX}")
        for j, field in enumerate(fields):
            for key, limit in (("name", FIELD_NAME_MAX), ("value", FIELD_VALUE_MAX)):
                text = field.get(key)
                if not isinstance(text, str) or not text.strip():
                    problems.append(f"embeds[{i}].fields[{j}].{key}: required and not blank")
                over(f"embeds[{i}].fields[{j}].{key}", text, limit)
        footer, author = embed.get("footer"), embed.get("author")
        if isinstance(footer, Mapping):
            over(f"embeds[{i}].footer.text", footer.get("text"), FOOTER_MAX)
        if isinstance(author, Mapping):
            over(f"embeds[{i}].author.name", author.get("name"), AUTHOR_MAX)
    total = sum(embed_chars(embed) for embed in embeds)
    if total > EMBEDS_TOTAL_MAX:
        problems.append(f"embeds: {total} characters in total, the limit is {EMBEDS_TOTAL_MAX}")
    rows = payload.get("components") or []
    if len(rows) > ACTION_ROWS_MAX:
        problems.append(f"components: {len(rows)} action rows, the limit is {ACTION_ROWS_MAX}")
    seen: set[str] = set()
    for i, row in enumerate(rows):
        children = row.get("components") or []
        if len(children) > BUTTONS_PER_ROW_MAX:
            problems.append(f"components[{i}]: {len(children)} buttons, the limit is {BUTTONS_PER_ROW_MAX}")
        for j, child in enumerate(children):
            custom_id = child.get("custom_id")
            if isinstance(custom_id, str):
                if not custom_id or len(custom_id) > CUSTOM_ID_MAX:
                    problems.append(f"components[{i}][{j}].custom_id: 1 to {CUSTOM_ID_MAX} characters")
                if custom_id in seen:
                    problems.append(f"components[{i}][{j}].custom_id: {custom_id!r} is used twice")
                seen.add(custom_id)
            over(f"components[{i}][{j}].label", child.get("label"), LABEL_MAX)
    return problems


def fit_embed(embed: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the embed with every per-embed limit respected (more than 25 fields: the 25th says
    how many were left out)."""
    out = copy.deepcopy(dict(embed))
    if isinstance(out.get("title"), str):
        out["title"] = truncate(out["title"], TITLE_MAX)
    if isinstance(out.get("description"), str):
        out["description"] = truncate(out["description"], DESCRIPTION_MAX)
    if "fields" in out:
        fields = list(out.get("fields") or [])
        if len(fields) > FIELDS_MAX:
            left_out = len(fields) - (FIELDS_MAX - 1)
            fields = [
                *fields[: FIELDS_MAX - 1],
                {"name": ELLIPSIS, "value": f"{left_out} more fields not shown"},
            ]
        out["fields"] = [
            {
                **field,
                "name": _field_text(field.get("name"), FIELD_NAME_MAX),
                "value": _field_text(field.get("value"), FIELD_VALUE_MAX),
            }
            for field in fields
        ]
    footer, author = out.get("footer"), out.get("author")
    if isinstance(footer, dict) and isinstance(footer.get("text"), str):
        footer["text"] = truncate(footer["text"], FOOTER_MAX)
    if isinstance(author, dict) and isinstance(author.get("name"), str):
        author["name"] = truncate(author["name"], AUTHOR_MAX)
    return out


def _counted_texts(embeds: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """(container, key) of every string that counts toward the 6000 total."""
    found: list[tuple[dict[str, Any], str]] = []
    for embed in embeds:
        for key in ("title", "description"):
            if isinstance(embed.get(key), str):
                found.append((embed, key))
        for field in embed.get("fields") or ():
            found.extend(((field, "name"), (field, "value")))
        footer, author = embed.get("footer"), embed.get("author")
        if isinstance(footer, dict) and isinstance(footer.get("text"), str):
            found.append((footer, "text"))
        if isinstance(author, dict) and isinstance(author.get("name"), str):
            found.append((author, "name"))
    return found


def _fit_total(embeds: list[dict[str, Any]], budget: int = EMBEDS_TOTAL_MAX) -> None:
    """Cut the longest texts first ("water filling") until all embeds share at most `budget`."""
    texts = _counted_texts(embeds)
    lengths = [len(container[key]) for container, key in texts]
    if sum(lengths) <= budget:
        return
    low, high = 1, max(lengths)  # the largest cap that fits; cap 1 fits (at most 540 texts)
    while low < high:
        cap = (low + high + 1) // 2
        if sum(min(length, cap) for length in lengths) <= budget:
            low = cap
        else:
            high = cap - 1
    for container, key in texts:
        if len(container[key]) > low:
            container[key] = truncate(container[key], low)


def fit_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the message payload within every Discord limit.

    Text is cut with "…"; embeds beyond 10 are left out and the content says how many; when the
    embeds together exceed 6000 characters the longest texts are cut first. Button labels are cut
    to 80; components that break a structural limit raise `ValueError`.
    """
    out = copy.deepcopy(dict(payload))
    embeds = [fit_embed(embed) for embed in out.get("embeds") or []]
    note = ""
    if len(embeds) > EMBEDS_MAX:
        note = f"({len(embeds) - EMBEDS_MAX} more embeds not shown)"
        embeds = embeds[:EMBEDS_MAX]
    if isinstance(out.get("content"), str) or note:
        content = out.get("content") or ""
        if note:
            content = truncate(content, CONTENT_MAX, ("\n" if content else "") + note)
        out["content"] = truncate(content, CONTENT_MAX)
    if "embeds" in out:
        _fit_total(embeds)
        out["embeds"] = embeds
    if "components" in out:
        out["components"] = _fit_components(out.get("components") or [])
    return out


def _fit_components(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(rows) > ACTION_ROWS_MAX:
        raise ValueError(f"a message holds at most {ACTION_ROWS_MAX} action rows, not {len(rows)}")
    seen: set[str] = set()
    for row in rows:
        children = row.get("components") or []
        if len(children) > BUTTONS_PER_ROW_MAX:
            raise ValueError(
                f"an action row holds at most {BUTTONS_PER_ROW_MAX} buttons, not {len(children)}"
            )
        for child in children:
            custom_id = child.get("custom_id")
            if custom_id is not None:
                if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= CUSTOM_ID_MAX:
                    raise ValueError(f"custom_id must be 1 to {CUSTOM_ID_MAX} characters: {custom_id!r:.120}")
                if custom_id in seen:
                    raise ValueError(f"custom_id {custom_id!r} is used twice in one message")
                seen.add(custom_id)
            if isinstance(child.get("label"), str):
                child["label"] = truncate(child["label"], LABEL_MAX)
    return rows


def button(
    custom_id: str, label: str, style: ButtonStyle = "secondary", disabled: bool = False
) -> dict[str, Any]:
    """One interactive button (type 2)."""
    code = BUTTON_STYLES.get(style) if isinstance(style, str) else style
    if code not in (1, 2, 3, 4):
        raise ValueError(f"unknown button style {style!r} (link buttons carry a url, not a custom_id)")
    if not 1 <= len(custom_id) <= CUSTOM_ID_MAX:
        raise ValueError(f"custom_id must be 1 to {CUSTOM_ID_MAX} characters: {custom_id!r:.120}")
    if not label.strip():
        raise ValueError("a button needs a label")
    out: dict[str, Any] = {
        "type": 2,
        "style": code,
        "custom_id": custom_id,
        "label": truncate(label, LABEL_MAX),
    }
    if disabled:
        out["disabled"] = True
    return out


def action_rows(buttons: Iterable[Button]) -> list[dict[str, Any]]:
    """Buttons laid out in action rows of up to 5 (at most 25 buttons)."""
    made = [button(*spec) for spec in buttons]
    limit = ACTION_ROWS_MAX * BUTTONS_PER_ROW_MAX
    if len(made) > limit:
        raise ValueError(f"a message holds at most {limit} buttons, not {len(made)}")
    ids = [b["custom_id"] for b in made]
    if len(set(ids)) != len(ids):
        raise ValueError("every button of a message needs its own custom_id")
    return [
        {"type": 1, "components": made[i : i + BUTTONS_PER_ROW_MAX]}
        for i in range(0, len(made), BUTTONS_PER_ROW_MAX)
    ]


def message_with_buttons(
    content: str | None,
    embeds: Sequence[Mapping[str, Any]],
    buttons: Iterable[Button],
    *,
    allowed_mentions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A message payload (content, embeds, buttons, explicit allowed_mentions) within every limit."""
    payload: dict[str, Any] = {
        "embeds": [dict(embed) for embed in embeds],
        "components": action_rows(buttons),
        "allowed_mentions": dict(allowed_mentions) if allowed_mentions is not None else {"parse": []},
    }
    if content:
        payload["content"] = content
    return fit_message(payload)


def paginate_embeds(
    title: str,
    fields: Sequence[tuple[str, str]],
    *,
    description: str | None = None,
    footer: str | None = None,
    author: str | None = None,
    color: int | None = None,
    inline: bool = False,
    max_embeds_per_page: int = EMBEDS_MAX,
    max_fields_per_embed: int = FIELDS_MAX,
) -> list[list[dict[str, Any]]]:
    """Fields split into pages (one message each) of embeds that respect every Discord limit.

    Fields keep their order; a name or value over its limit is cut with "…". Each page's first
    embed carries the title (and author), the first page also the description, and each page's
    last embed the footer with "Page i/n" when there are several pages.
    """
    max_embeds = min(max(1, max_embeds_per_page), EMBEDS_MAX)
    max_fields = min(max(1, max_fields_per_embed), FIELDS_MAX)
    title_text = truncate(title, TITLE_MAX) if title and title.strip() else ""
    author_text = truncate(author, AUTHOR_MAX) if author and author.strip() else ""
    items = [
        (_field_text(name, FIELD_NAME_MAX), _field_text(value, FIELD_VALUE_MAX)) for name, value in fields
    ]
    # A page holds at least one field (title + author + footer + the longest field < 6000), so
    # there are at most len(fields) + 1 pages: reserve room for the widest "Page i/n".
    widest = len(str(len(items) + 1))
    marker_room = len(" · Page ") + 2 * widest + 1
    footer_text = truncate(footer, FOOTER_MAX - marker_room) if footer and footer.strip() else ""
    fixed = len(title_text) + len(author_text) + len(footer_text) + marker_room
    description_text = ""
    if description and description.strip():
        description_text = truncate(description, min(DESCRIPTION_MAX, EMBEDS_TOTAL_MAX - fixed))

    pages: list[list[list[tuple[str, str]]]] = []
    page: list[list[tuple[str, str]]] = [[]]
    used = fixed + len(description_text)
    for name, value in items:
        cost = len(name) + len(value)
        if used + cost > EMBEDS_TOTAL_MAX:
            pages.append(page)
            page, used = [[]], fixed
        elif len(page[-1]) >= max_fields:
            if len(page) >= max_embeds:
                pages.append(page)
                page, used = [[]], fixed
            else:
                page.append([])
        page[-1].append((name, value))
        used += cost
    pages.append(page)

    total = len(pages)
    out: list[list[dict[str, Any]]] = []
    for number, page_fields in enumerate(pages, start=1):
        embeds: list[dict[str, Any]] = []
        for index, embed_fields in enumerate(page_fields):
            embed: dict[str, Any] = {}
            if index == 0:
                if title_text:
                    embed["title"] = title_text
                if author_text:
                    embed["author"] = {"name": author_text}
                if number == 1 and description_text:
                    embed["description"] = description_text
            if color is not None:
                embed["color"] = color
            if embed_fields:
                embed["fields"] = [{"name": n, "value": v, "inline": inline} for n, v in embed_fields]
            embeds.append(embed)
        marker = f"Page {number}/{total}" if total > 1 else ""
        text = " · ".join(part for part in (footer_text, marker) if part)
        if text:
            embeds[-1]["footer"] = {"text": text}
        if not any(key in embeds[0] for key in ("title", "description", "fields", "footer", "author")):
            embeds[0]["description"] = BLANK
        out.append(embeds)
    return out
