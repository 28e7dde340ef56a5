"""The pipeline board as a user works it (issue 15): drag a deal to another stage; the keyboard
way (the card's stage choice and "Move"); a refused move (someone else changed the deal) puts the
card back and says why. At 1280×800 and 390×844, with axe finding nothing critical or serious."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .axe import axe_violations
from .conftest import login, settled

pytestmark = pytest.mark.browser

BOSS = "claudia.schmidt@schmidt.example"  # admin, in Nord and Süd: sees every deal


def _stage_ids() -> dict[str, int]:
    from sqlalchemy import select

    from crm.extensions import db
    from crm.stages.models import DealStage

    return {name: sid for sid, name in db.session.execute(select(DealStage.id, DealStage.name))}


def _deal(deal_id: int) -> tuple[str, int]:
    from crm.extensions import db
    from crm.records.models import Deal

    deal = db.session.get(Deal, deal_id)
    return deal.stage, deal.stage_id


def _changed_by_someone_else(deal_id: int) -> None:
    from crm.extensions import db
    from crm.records.models import Deal

    deal = db.session.get(Deal, deal_id)
    deal.description = "Inzwischen geändert"
    db.session.commit()


def _drag(page, card, target) -> None:
    """Drag with the mouse as a person does: press, move in steps, hold over the other column
    until the board shows the card there, release. The card is the last of its column, brought
    to the middle of the screen: on a phone the columns stand one below the other, and the next
    one starts just below it. The pointer aims at the middle of the part of the column that is
    on the screen, away from its edges, where the board would scroll the page. The board
    (SortableJS) notices where the pointer is on a timer; on a loaded machine a release right
    after the last step can come before it looked - a person waits for the card to show in the
    column, and so does this."""
    card_id = card.get_attribute("id")
    card.evaluate("el => el.scrollIntoView({block: 'center'})")
    box = card.bounding_box()
    page.mouse.move(box["x"] + 12, box["y"] + 8)
    page.mouse.down()
    screen = page.viewport_size["height"]

    def aim() -> tuple[float, float]:
        dest = target.bounding_box()
        top, bottom = max(dest["y"], 60), min(dest["y"] + dest["height"], screen - 60)
        return dest["x"] + dest["width"] / 2, (top + bottom) / 2

    page.mouse.move(*aim(), steps=12)
    for wiggle in range(100):  # up to about 10 s
        x, y = aim()
        page.mouse.move(x, y + wiggle % 2, steps=2)
        if target.locator(f"#{card_id}").count():
            break
        page.wait_for_timeout(100)
    page.mouse.up()


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_drag_a_deal_to_another_stage_and_back_by_keyboard(kontor, new_page, width, height):
    server = kontor("schmidt")
    stages = server.run(_stage_ids)
    page = new_page(locale="de-DE", width=width, height=height)
    login(page, server, BOSS)
    page.goto(server.url("/deals/pipeline"))
    settled(page)
    assert axe_violations(page) == []
    offen, gewonnen = (page.locator(f'.pipeline-cards[data-stage="{stages[n]}"]') for n in ("Offen", "Gewonnen"))
    card = offen.locator(".pipeline-card").last
    deal_id = int(card.get_attribute("id").removeprefix("deal-"))

    # -- drag and drop: the card lands in "Gewonnen", the server agrees --------------------------
    _drag(page, card, gewonnen)
    moved = gewonnen.locator(f"#deal-{deal_id}")
    expect(moved).to_be_visible()
    page.wait_for_function("() => !document.querySelector('#pipeline-board[aria-busy]')")
    assert server.run(_deal, deal_id) == ("won", stages["Gewonnen"])

    # -- the keyboard: the card's stage choice and "Verschieben" ----------------------------------
    page.locator(f"#move-{deal_id}").focus()
    page.keyboard.press("End")  # the last stage: "Verloren"
    expect(page.locator(f"#move-{deal_id}")).to_have_value(str(stages["Verloren"]))
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/deals/pipeline#deal-{deal_id}$"))
    expect(page.locator(f'.pipeline-cards[data-stage="{stages["Verloren"]}"] #deal-{deal_id}')).to_be_visible()
    assert server.run(_deal, deal_id) == ("lost", stages["Verloren"])

    # -- the lost card asks for its reason, from the lost reasons --------------------------------
    lost_card = page.locator(f'.pipeline-cards[data-stage="{stages["Verloren"]}"] #deal-{deal_id}')
    lost_card.locator(f"#reason-{deal_id}").select_option(label="Preis zu hoch")
    lost_card.locator(".card-reason button").click()
    expect(lost_card).to_contain_text("Grund: Preis zu hoch")
    expect(lost_card.locator(f"#reason-{deal_id}")).to_have_count(0)
    assert axe_violations(page) == []


def test_a_refused_move_puts_the_card_back_and_says_why(kontor, new_page):
    server = kontor("schmidt")
    stages = server.run(_stage_ids)
    page = new_page(locale="en-GB")
    page.watch.allow(409, r"^/deals/\d+/stage$")
    login(page, server, BOSS)
    page.goto(server.url("/deals/pipeline"))
    settled(page)
    offen, verloren = (page.locator(f'.pipeline-cards[data-stage="{stages[n]}"]') for n in ("Offen", "Verloren"))
    card = offen.locator(".pipeline-card").last
    deal_id = int(card.get_attribute("id").removeprefix("deal-"))
    server.run(_changed_by_someone_else, deal_id)  # the board shows an older version now

    _drag(page, card, verloren)
    expect(page.locator("#toast")).to_contain_text("Someone else changed this record meanwhile")
    expect(offen.locator(f"#deal-{deal_id}")).to_be_visible()  # back where it was
    expect(verloren.locator(f"#deal-{deal_id}")).to_have_count(0)
    assert server.run(_deal, deal_id) == ("open", stages["Offen"])


def test_the_stage_settings_define_a_column_of_the_board(kontor, new_page):
    server = kontor("schmidt")
    page = new_page(locale="en-GB")
    login(page, server, BOSS)
    page.goto(server.url("/settings/stages"))
    assert axe_violations(page) == []
    page.get_by_role("button", name="New stage").click()
    page.locator("#name").fill("Angebot versandt")
    page.locator("#probability").fill("40")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("table#stages")).to_contain_text("Angebot versandt")
    assert axe_violations(page) == []
    page.goto(server.url("/deals/pipeline"))
    expect(page.locator("#pipeline-board h2").last).to_contain_text("Angebot versandt")
