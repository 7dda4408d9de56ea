"""The fake Bot API enforces Telegram's limits and parses HTML and MarkdownV2 like Telegram."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest

from tests.fakes.botapi import FakeBotApi
from tests.helpers.fake_botapi import keyboard

# Limits and formatting


async def test_text_length_limit_counts_utf16_after_entity_parsing(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    async with bot_api.make_bot() as bot:
        await bot.send_message(alice["id"], "a" * 4096)
        await bot.send_message(alice["id"], "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
        await bot.send_message(alice["id"], "&amp;" * 4096, parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(alice["id"], "a" * 4097)
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(alice["id"], "😀" * 2049)  # 4098 UTF-16 code units
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(alice["id"], "<b> </b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
            await bot.send_document(alice["id"], b"x", filename="a.txt", caption="c" * 1025)
    assert [v.description for v in bot_api.violations] == [
        "Bad Request: message is too long",
        "Bad Request: message is too long",
        "Bad Request: message text is empty",
        "Bad Request: message caption is too long",
    ]
    assert bot_api.violations[0].params["text"] == "a" * 4097


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<b>x", 'end tag corresponding to start tag "b"'),
        ("a < b", 'Unsupported start tag ""'),
        ("<foo>x</foo>", 'Unsupported start tag "foo"'),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag"),
        ("Tom & Jerry", 'Unescaped "&"'),
        ("2 > 1", 'Unescaped ">"'),
        ('<span class="x">s</span>', 'must have class "tg-spoiler"'),
        ("<code><b>x</b></code>", "can't be nested"),
        ('<a href="https://x.org"', "Unclosed start tag"),
    ],
)
async def test_malformed_html_is_rejected(bot_api: FakeBotApi, text: str, error: str) -> None:
    alice = bot_api.make_user()
    async with bot_api.make_bot() as bot:
        with pytest.raises(BadRequest, match=r"(?i)parse entities") as caught:
            await bot.send_message(alice["id"], text, parse_mode="HTML")
    # PTB re-capitalises the description, so compare the exact wording on the recorded violation.
    assert error.lower() in caught.value.message.lower()
    assert [v.kind for v in bot_api.violations] == ["format"]
    assert error in bot_api.violations[0].description


async def test_well_formed_html_is_accepted_with_entities(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    html = (
        "<b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u> <ins>n</ins> <s>s</s> <del>d</del> "
        '<tg-spoiler>p</tg-spoiler> <span class="tg-spoiler">q</span> <a href="https://x.org/?a=1&amp;b=2">link</a> '
        '<code>c</code> <pre><code class="language-python">x = 1</code></pre> '
        "<blockquote expandable>quote</blockquote> &lt;&gt;&amp;&quot; &#128512; &#x1F600;"
    )
    async with bot_api.make_bot() as bot:
        sent = await bot.send_message(alice["id"], html, parse_mode="HTML")
    assert sent.text.endswith('<>&" 😀 😀')
    types = [e.type for e in sent.entities]
    assert "text_link" in types and "pre" in types and "expandable_blockquote" in types
    link = next(e for e in sent.entities if e.type == "text_link")
    assert link.url == "https://x.org/?a=1&b=2"
    assert next(e for e in sent.entities if e.type == "pre").language == "python"
    assert sent.text_html.count("<b>") == 2  # PTB can rebuild the markup from the entities
    assert bot_api.violations == []


async def test_markdown_v2_reserved_characters(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    async with bot_api.make_bot() as bot:
        ok = await bot.send_message(alice["id"], r"*Done* in 1\.5 s \(fast\)", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest, match=r"(?i)Character '\.' is reserved"):
            await bot.send_message(alice["id"], "Done in 1.5 s", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest, match=r"(?i)Can't find end of Bold entity"):
            await bot.send_message(alice["id"], "*bold", parse_mode="MarkdownV2")
    assert ok.text == "Done in 1.5 s (fast)"
    assert ok.entities[0].type == "bold"


async def test_callback_data_limit(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    async with bot_api.make_bot() as bot:
        await bot.send_message(alice["id"], "pick", reply_markup=keyboard("x" * 64))
        with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(alice["id"], "pick", reply_markup=keyboard("x" * 65))
        with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(alice["id"], "pick", reply_markup=keyboard("é" * 33))  # 66 bytes
    assert len(bot_api.violations) == 2


async def test_bot_commands_per_language_and_limits(bot_api: FakeBotApi) -> None:
    async with bot_api.make_bot() as bot:
        await bot.set_my_commands([("start", "Begin"), ("help", "Help")])
        await bot.set_my_commands([("start", "Anfangen")], language_code="de")
        assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
        assert [c.description for c in await bot.get_my_commands(language_code="de")] == ["Anfangen"]
        with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([("Start", "capital letters are not allowed")])
        with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_DESCRIPTION_INVALID"):
            await bot.set_my_commands([("start", "d" * 257)])
        await bot.delete_my_commands(language_code="de")
    assert bot_api.commands(language_code="de") == []
    assert bot_api.commands() == [
        {"command": "start", "description": "Begin"},
        {"command": "help", "description": "Help"},
    ]
